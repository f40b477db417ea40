import Foundation
import MetaRecCore

/// Export and re-import of a split, so another tool (or another MetaRec build) evaluates on
/// exactly the same tasks. Layout of the directory (see Docs/data.md):
///
/// - `tasks-<scenario>.csv`: `task_id,user,item,value,timestamp,part` with external ids,
///   part = support | query, rows of a task contiguous, support in time order;
/// - `users.csv`: `user,group` (existing | validation | new);
/// - `items.csv`: `item,new` (0 | 1);
/// - `manifest.json`: protocol, seed, options, data set name and file checksums, counts.
extension ProtocolSplit {
    public static let manifestName = "manifest.json"

    public static func taskFileName(_ scenario: Scenario) -> String { "tasks-\(scenario.rawValue).csv" }

    /// Writes the split to `directory` (created if needed).
    public func export(to directory: URL, dataset: Dataset) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for scenario in Scenario.allCases {
            var out = "task_id,user,item,value,timestamp,part\n"
            for (t, task) in tasks(scenario).enumerated() {
                let user = csvEscape(dataset.userIDs[Int(task.user)])
                for (part, rows) in [("support", task.support), ("query", task.query)] {
                    for x in rows {
                        out +=
                            "\(t),\(user),\(csvEscape(dataset.itemIDs[Int(x.item)])),\(x.value),\(x.timestamp),\(part)\n"
                    }
                }
            }
            try write(out, to: directory.appendingPathComponent(Self.taskFileName(scenario)))
        }
        var users = "user,group\n"
        for (group, ids) in [("existing", existingUsers), ("validation", validationUsers), ("new", newUsers)] {
            for u in ids { users += "\(csvEscape(dataset.userIDs[Int(u)])),\(group)\n" }
        }
        try write(users, to: directory.appendingPathComponent("users.csv"))
        var items = "item,new\n"
        for (i, id) in dataset.itemIDs.enumerated() { items += "\(csvEscape(id)),\(isNewItem[i] ? 1 : 0)\n" }
        try write(items, to: directory.appendingPathComponent("items.csv"))

        var counts: [String: SplitManifest.Counts] = [:]
        for s in statistics {
            counts[s.scenario.rawValue] = .init(
                users: s.users, items: s.items, tasks: s.tasks, taskRatings: s.taskRatings, allRatings: s.allRatings)
        }
        let manifest = SplitManifest(
            dataset: dataset.name, feedback: dataset.feedback.description, checksums: dataset.fileChecksums,
            seed: String(options.seed),
            options: .init(
                userFractions: [
                    options.userFractions.existing, options.userFractions.validation, options.userFractions.new,
                ],
                newItemFraction: options.newItemFraction, minimumTaskSize: options.minimumTaskSize,
                maximumTaskSize: options.maximumTaskSize, querySize: options.querySize),
            users: dataset.userCount, items: dataset.itemCount, interactions: dataset.interactions.count,
            newItems: isNewItem.filter { $0 }.count, scenarios: counts)
        do {
            try JSONFormat.write(manifest, to: directory.appendingPathComponent(Self.manifestName))
        } catch {
            throw DataError(file: Self.manifestName, "cannot write \(directory.path): \(error)")
        }
    }

    /// Reads tasks exported by `export(to:dataset:)` back, mapped to `dataset`'s internal ids.
    /// Throws when the manifest's file checksums differ from the data set's (the tasks would
    /// not be the same), or when a row names an unknown user or item.
    public static func importTasks(from directory: URL, dataset: Dataset) throws -> [Scenario: [ProtocolTask]] {
        let manifestFile = try TextFile.read(directory.appendingPathComponent(manifestName))
        let manifest: SplitManifest
        do {
            manifest = try JSONFormat.decoder().decode(SplitManifest.self, from: Data(manifestFile.bytes))
        } catch {
            throw DataError(file: manifestFile.name, "expected the manifest that 'metarec data split' writes: \(error)")
        }
        if case let checksums = manifest.checksums, !checksums.isEmpty, !dataset.fileChecksums.isEmpty {
            for (name, sum) in checksums.sorted(by: { $0.key < $1.key }) where dataset.fileChecksums[name] != sum {
                throw DataError(
                    file: manifestFile.name,
                    "the split was made from a different \(name) (SHA-256 \(sum.prefix(12))…, this data set has \(dataset.fileChecksums[name].map { String($0.prefix(12)) + "…" } ?? "no such file"))"
                )
            }
        }
        let users = dataset.userLookup()
        let items = dataset.itemLookup()
        var result: [Scenario: [ProtocolTask]] = [:]
        var handler = BadLineHandler(ImportOptions())
        for scenario in Scenario.allCases {
            let url = directory.appendingPathComponent(taskFileName(scenario))
            guard FileManager.default.fileExists(atPath: url.path) else { continue }
            let file = try TextFile.read(url)
            var tasks: [ProtocolTask] = []
            var currentID: Int64 = -1
            try forEachRecord(
                file,
                RecordFormat(
                    delimiter: [0x2C], quotes: true, header: true, fields: .exactly(6),
                    describe: "6 comma-separated fields (task_id, user, item, value, timestamp, part)"), &handler
            ) { bytes, fields, line in
                guard let id = parseInt(bytes, fields[0].range) else {
                    throw DataError(
                        file: file.name, line: line, "expected a task id, found '\(fieldText(bytes, fields[0]))'")
                }
                let userText = fieldText(bytes, fields[1])
                let itemText = fieldText(bytes, fields[2])
                guard let user = users[userText] else {
                    throw DataError(
                        file: file.name, line: line, "user '\(userText)' is not in data set \(dataset.name)")
                }
                guard let item = items[itemText] else {
                    throw DataError(
                        file: file.name, line: line, "item '\(itemText)' is not in data set \(dataset.name)")
                }
                guard let value = Float(fieldText(bytes, fields[3])) else {
                    throw DataError(
                        file: file.name, line: line,
                        "expected a number for the value, found '\(fieldText(bytes, fields[3]))'")
                }
                guard let time = parseInt(bytes, fields[4].range) else {
                    throw DataError(
                        file: file.name, line: line,
                        "expected an integer timestamp, found '\(fieldText(bytes, fields[4]))'")
                }
                let part = fieldText(bytes, fields[5])
                guard part == "support" || part == "query" else {
                    throw DataError(file: file.name, line: line, "expected part 'support' or 'query', found '\(part)'")
                }
                if id != currentID {
                    guard id == Int64(tasks.count) else {
                        throw DataError(
                            file: file.name, line: line,
                            "expected task id \(tasks.count) (rows of a task together, ids in order), found \(id)")
                    }
                    currentID = id
                    tasks.append(ProtocolTask(user: user, scenario: scenario, support: [], query: []))
                }
                guard tasks[tasks.count - 1].user == user else {
                    throw DataError(file: file.name, line: line, "task \(id) mixes users")
                }
                let x = Interaction(user: user, item: item, value: value, timestamp: time)
                if part == "support" {
                    tasks[tasks.count - 1].support.append(x)
                } else {
                    tasks[tasks.count - 1].query.append(x)
                }
            }
            result[scenario] = tasks
        }
        return result
    }
}

private func write(_ text: String, to url: URL) throws {
    do { try Data(text.utf8).write(to: url) } catch {
        throw DataError(file: url.lastPathComponent, "cannot write \(url.path): \(error.localizedDescription)")
    }
}

/// Quotes a CSV field when it needs it.
func csvEscape(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// What `metarec data split` writes beside the task files: where the split came from and its counts.
struct SplitManifest: Codable {
    struct Options: Codable {
        var userFractions: [Double]
        var newItemFraction: Double
        var minimumTaskSize: Int
        var maximumTaskSize: Int
        var querySize: Int
    }

    struct Counts: Codable {
        var users: Int
        var items: Int
        var tasks: Int
        var taskRatings: Int
        var allRatings: Int
    }

    var `protocol` = "coldstart-v1"
    var dataset: String
    var feedback: String
    var checksums: [String: String]
    var seed: String
    var options: Options
    var users: Int
    var items: Int
    var interactions: Int
    var newItems: Int
    var scenarios: [String: Counts]
}
