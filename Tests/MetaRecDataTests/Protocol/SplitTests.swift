import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

/// Small synthetic data, shared across the split tests (generation is deterministic).
let smallSynthetic = BuiltInData.synthetic(seed: 3, users: 300, items: 200, targetInteractions: 15_000)

@Suite struct SplitTests {
    let data = smallSynthetic.dataset

    @Test func userGroupsAreDisjointAndCoverAllUsers() throws {
        let split = try ProtocolSplit(dataset: data)
        let all = split.existingUsers + split.validationUsers + split.newUsers
        #expect(Set(all).count == all.count)
        #expect(Set(all) == Set((0..<data.userCount).map(Int32.init)))
        #expect(split.existingUsers.count == 210 && split.validationUsers.count == 30 && split.newUsers.count == 60)
        let validation = Set(split.validationUsers)
        let new = Set(split.newUsers)
        let existing = Set(split.existingUsers)
        for t in split.tasks(.warm) + split.tasks(.itemCold) { #expect(existing.contains(t.user)) }
        for t in split.tasks(.validation) { #expect(validation.contains(t.user)) }
        for t in split.tasks(.userCold) + split.tasks(.bothCold) { #expect(new.contains(t.user)) }
        for x in split.warmInteractions { #expect(existing.contains(x.user)) }
    }

    @Test func newItemsAreTheLatestReleasesAndStayOutOfTraining() throws {
        let split = try ProtocolSplit(dataset: data)
        #expect(split.isNewItem.filter { $0 }.count == data.itemCount - Int(Double(data.itemCount) * 0.8))
        let newest = (0..<data.itemCount).filter { split.isNewItem[$0] }.map { data.itemReleaseTimes[$0]! }.min()!
        let oldest = (0..<data.itemCount).filter { !split.isNewItem[$0] }.map { data.itemReleaseTimes[$0]! }.max()!
        #expect(oldest <= newest)
        for x in split.warmInteractions { #expect(!split.isNewItem[Int(x.item)]) }
        for s in [Scenario.warm, .validation, .userCold] {
            for t in split.tasks(s) { for x in t.support + t.query { #expect(!split.isNewItem[Int(x.item)]) } }
        }
        for s in [Scenario.itemCold, .bothCold] {
            #expect(!split.tasks(s).isEmpty)
            for t in split.tasks(s) { for x in t.support + t.query { #expect(split.isNewItem[Int(x.item)]) } }
        }
        // warm interactions are exactly existing users × existing items
        let existing = Set(split.existingUsers)
        let expected = data.interactions.filter { existing.contains($0.user) && !split.isNewItem[Int($0.item)] }
        #expect(split.warmInteractions == expected)
    }

    @Test func taskSizesQueryAndTimeOrder() throws {
        let options = SplitOptions(seed: 1)
        let split = try ProtocolSplit(dataset: data, options: options)
        var sawCap = false
        for s in Scenario.allCases {
            #expect(!split.tasks(s).isEmpty, "no \(s.rawValue) tasks")
            for t in split.tasks(s) {
                let size = t.support.count + t.query.count
                #expect(size >= 13 && size <= 100)
                #expect(t.query.count == 10)
                if size == 100 { sawCap = true }
                #expect(
                    zip(t.support, t.support.dropFirst()).allSatisfy {
                        ($0.timestamp, $0.item) < ($1.timestamp, $1.item)
                    })
                // The task is the user's earliest min(n, 100) ratings on the item set.
                let mine = data.interactions.filter {
                    $0.user == t.user && split.isNewItem[Int($0.item)] == s.usesNewItems
                }
                #expect(Set(t.support + t.query) == Set(mine.prefix(100)))
                #expect(Set(t.support).isDisjoint(with: Set(t.query)))
            }
            // Users with 13+ ratings on the item set, and only they, have a task.
            let stats = split.statistics(s)
            #expect(stats.tasks == split.tasks(s).count)
            #expect(stats.taskRatings == split.tasks(s).reduce(0) { $0 + $1.support.count + $1.query.count })
        }
        #expect(sawCap, "the synthetic data should have users with more than 100 ratings")
        let few = split.tasks(.userCold)[0].truncatedSupport(toEarliest: 3)
        #expect(few.support == Array(split.tasks(.userCold)[0].support.prefix(3)) && few.query.count == 10)
        #expect(split.tasks(.userCold)[0].truncatedSupport(toEarliest: 0).support.isEmpty)
    }

    @Test func customLimitsAreHonoured() throws {
        let split = try ProtocolSplit(
            dataset: data, options: SplitOptions(minimumTaskSize: 8, maximumTaskSize: 20, querySize: 5))
        for t in split.tasks(.userCold) {
            #expect(t.query.count == 5 && t.support.count >= 3 && t.support.count <= 15)
        }
        #expect(throws: DataError.self) {
            try ProtocolSplit(dataset: data, options: SplitOptions(minimumTaskSize: 10, querySize: 10))
        }
    }

    @Test func sameSeedSameSplitOtherSeedDifferent() throws {
        let a = try ProtocolSplit(dataset: data, options: SplitOptions(seed: 5))
        let b = try ProtocolSplit(dataset: data, options: SplitOptions(seed: 5))
        let c = try ProtocolSplit(dataset: data, options: SplitOptions(seed: 6))
        #expect(a.newUsers == b.newUsers)
        for s in Scenario.allCases { #expect(a.tasks(s) == b.tasks(s)) }
        #expect(a.newUsers != c.newUsers)
        #expect(a.tasks(.userCold) != c.tasks(.userCold))
    }

    @Test func vocabulariesAreFittedOnTrainingEntitiesOnly() throws {
        var d = data
        // Give one new user and one new item a value nobody in training has.
        let probe = try ProtocolSplit(dataset: d)
        let newUser = Int(probe.newUsers[0])
        let newItem = probe.isNewItem.firstIndex(of: true)!
        let existingItem = probe.isNewItem.firstIndex(of: false)!
        guard let o = d.rawUserFeatures.columns.firstIndex(where: { $0.name == "occupation" }),
            case .categories(var jobs) = d.rawUserFeatures.columns[o].values,
            let g = d.rawItemFeatures.columns.firstIndex(where: { $0.name == "genres" }),
            case .categories(var genres) = d.rawItemFeatures.columns[g].values
        else {
            Issue.record("missing columns")
            return
        }
        jobs[newUser] = ["astronaut"]
        d.rawUserFeatures.columns[o].values = .categories(jobs)
        genres[newItem] = ["Western", genres[existingItem][0]]
        d.rawItemFeatures.columns[g].values = .categories(genres)
        let split = try ProtocolSplit(dataset: d)
        let occupationField = split.userFeatures.fieldIndex(named: "occupation")!
        #expect(Array(split.userFeatures.indices(field: occupationField, entity: newUser)) == [0])
        let genreField = split.itemFeatures.fieldIndex(named: "genres")!
        let encoded = Array(split.itemFeatures.indices(field: genreField, entity: newItem))
        #expect(encoded.count == 2 && encoded[0] == 0 && encoded[1] > 0)
        // Every index is within its table, and the year of a new item released after all
        // existing ones is unknown under year buckets.
        for (f, field) in split.itemFeatures.fields.enumerated() where field.kind.isIndexed {
            for e in 0..<d.itemCount {
                for i in split.itemFeatures.indices(field: f, entity: e) {
                    #expect(i >= 0 && Int(i) < field.cardinality)
                }
            }
        }
        let fields = split.userFeatures.fields.map(\.kind)
        #expect(fields == [.numericBucketed, .categorical, .categorical])
    }

    @Test func warmRatingsByUserAreTimeOrdered() throws {
        let split = try ProtocolSplit(dataset: data)
        let grouped = split.warmRatingsByUser()
        #expect(grouped.values.reduce(0) { $0 + $1.count } == split.warmInteractions.count)
        for (_, rows) in grouped { #expect(zip(rows, rows.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp }) }
    }

    @Test func exportImportRoundTrip() throws {
        let split = try ProtocolSplit(dataset: data, options: SplitOptions(seed: 2))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-split-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try split.export(to: dir, dataset: data)
        let imported = try ProtocolSplit.importTasks(from: dir, dataset: data)
        for s in Scenario.allCases { #expect(imported[s] == split.tasks(s), "\(s.rawValue) differs after round trip") }
        // A data set from other files is refused.
        var other = data
        other.fileChecksums = data.fileChecksums.mapValues { _ in "0000" }
        #expect(throws: DataError.self) { try ProtocolSplit.importTasks(from: dir, dataset: other) }
        // A damaged row names its file and line.
        let file = dir.appendingPathComponent(ProtocolSplit.taskFileName(.userCold))
        var lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
        lines[2] = lines[2].replacingOccurrences(of: ",support", with: ",training").replacingOccurrences(
            of: ",query", with: ",training")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        #expect(
            dataError { _ = try ProtocolSplit.importTasks(from: dir, dataset: data) }?.description
                == "tasks-user-cold.csv line 3: expected part 'support' or 'query', found 'training'")
    }

    @Test func movieLensStyleIdsRoundTripThroughExport() throws {
        // External ids with commas and quotes survive the CSV.
        var d = data
        d.itemIDs[0] = "a,\"b\""
        let split = try ProtocolSplit(dataset: d)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-split-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try split.export(to: dir, dataset: d)
        let imported = try ProtocolSplit.importTasks(from: dir, dataset: d)
        #expect(imported[.warm] == split.tasks(.warm))
    }
}

@Suite struct SyntheticTests {
    @Test func deterministicPerSeed() {
        let a = BuiltInData.synthetic(seed: 9, users: 100, items: 80, targetInteractions: 3_000)
        let b = BuiltInData.synthetic(seed: 9, users: 100, items: 80, targetInteractions: 3_000)
        let c = BuiltInData.synthetic(seed: 10, users: 100, items: 80, targetInteractions: 3_000)
        #expect(a.dataset.interactions == b.dataset.interactions)
        #expect(a.groundTruth.userArchetype == b.groundTruth.userArchetype)
        #expect(a.dataset.interactions != c.dataset.interactions)
        #expect(a.dataset.interactions.count == 3_000)
    }

    @Test func shapeIsRealistic() {
        let s = smallSynthetic
        let d = s.dataset
        #expect(d.interactions.count == 15_000)
        var perUser = [Int](repeating: 0, count: d.userCount)
        var perItem = [Int](repeating: 0, count: d.itemCount)
        var pairs = Set<Int64>()
        for x in d.interactions {
            perUser[Int(x.user)] += 1
            perItem[Int(x.item)] += 1
            pairs.insert(Int64(x.user) << 32 | Int64(x.item))
            #expect(x.value >= 1 && x.value <= 5 && x.value == x.value.rounded())
        }
        #expect(pairs.count == d.interactions.count)  // no duplicates
        let sortedUsers = perUser.sorted()
        #expect(sortedUsers[sortedUsers.count / 2] < 50)  // median activity is modest...
        #expect(sortedUsers.last! >= 100)  // ...with a long tail
        let sortedItems = perItem.sorted(by: >)
        let top10 = sortedItems.prefix(d.itemCount / 10).reduce(0, +)
        #expect(Double(top10) > 0.25 * Double(d.interactions.count))  // popularity is concentrated
        // The newest 20% of items get fewer ratings than their share.
        let split = try? ProtocolSplit(dataset: d)
        let newRatings = d.interactions.filter { split!.isNewItem[Int($0.item)] }.count
        #expect(Double(newRatings) < 0.2 * Double(d.interactions.count))
        let mean = d.interactions.reduce(0) { $0 + Double($1.value) } / Double(d.interactions.count)
        #expect(mean > 3 && mean < 4.2)
    }

    @Test func groundTruthExplainsRatings() {
        let s = smallSynthetic
        let d = s.dataset
        let mean = d.interactions.reduce(0) { $0 + Double($1.value) } / Double(d.interactions.count)
        var meanError = 0.0
        var truthError = 0.0
        var archetypeOnlyError = 0.0
        let t = s.groundTruth
        for x in d.interactions {
            let v = Double(x.value)
            meanError += (v - mean) * (v - mean)
            let e = Double(t.expectedRating(user: Int(x.user), item: Int(x.item)))
            truthError += (v - e) * (v - e)
            // Knowing the archetype but not the user's own deviations explains less.
            var generic = t
            generic.userBias = Array(repeating: 0, count: t.userBias.count)
            generic.userTaste = Array(repeating: 0, count: t.userTaste.count)
            let g = Double(generic.expectedRating(user: Int(x.user), item: Int(x.item)))
            archetypeOnlyError += (v - g) * (v - g)
        }
        #expect(truthError < 0.5 * meanError, "truth MSE \(truthError) vs mean MSE \(meanError)")
        #expect(truthError < archetypeOnlyError)
    }

    @Test func featuresHintAtArchetypeOnlyPartly() {
        let s = BuiltInData.synthetic(seed: 4, users: 3000, items: 100, targetInteractions: 30_000)
        guard case .categories(let jobs)? = s.dataset.rawUserFeatures["occupation"]?.values else {
            Issue.record("no occupation")
            return
        }
        // Predict the archetype as the most common archetype of the user's occupation.
        var table: [String: [Int]] = [:]
        for (u, j) in jobs.enumerated() {
            table[j[0], default: Array(repeating: 0, count: 6)][s.groundTruth.userArchetype[u]] += 1
        }
        let correct = table.values.reduce(0) { $0 + $1.max()! }
        let accuracy = Double(correct) / Double(jobs.count)
        #expect(accuracy > 0.25 && accuracy < 0.8, "occupation predicts archetype with accuracy \(accuracy)")
    }

    @Test func implicitFeedbackIsBinaryAndTruthIsAProbability() {
        let s = BuiltInData.synthetic(
            seed: 1, users: 80, items: 60, targetInteractions: 2_000, feedback: .implicit(threshold: 4))
        #expect(s.dataset.interactions.allSatisfy { $0.value == 0 || $0.value == 1 })
        let p = s.groundTruth.expectedRating(user: 0, item: 0)
        #expect(p >= 0 && p <= 1)
    }

    @Test func writesAndReadsBackInMovieLens1MFormat() throws {
        let s = BuiltInData.synthetic(seed: 2, users: 50, items: 40, targetInteractions: 1_000)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-ml1m-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try s.writeMovieLens1M(to: dir)
        let back = try MovieLens.load1M(directory: dir)
        #expect(back.interactions.count == s.dataset.interactions.count)
        #expect(
            back.userIDs
                == s.dataset.userIDs.filter { id in
                    s.dataset.interactions.contains { s.dataset.userIDs[Int($0.user)] == id }
                })
    }
}
