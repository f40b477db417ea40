import Foundation
import Yams

/// A reader for any CSV/TSV interaction log, described by a small schema file (YAML or JSON)
/// that names the columns and each feature's type. The full format is in Docs/data.md; in short:
///
/// ```yaml
/// name: my-shop
/// feedback: implicit          # explicit (default) or implicit
/// threshold: 1                # implicit: value >= threshold is positive
/// date_format: "%d/%m/%Y"     # optional strptime-style format, tried before the built-in forms
/// interactions:
///   file: clicks.tsv          # relative to the schema file (an absolute path is kept)
///   delimiter: tab            # tab, comma, semicolon, pipe, space, or the characters ("::")
///   header: true
///   user: user_id             # a header name, or a 0-based column index
///   item: item_id
///   value: clicked            # optional: without it every row is 1
///   timestamp: ts             # optional: seconds since 1970 or a date; without it, line order
///   scale: [1, 5]             # optional: values outside are refused with file and line
/// users:
///   file: users.csv
///   id: user_id
///   features:
///     - {name: age, column: age, type: numeric, transform: bucketed, buckets: [18, 25, 35, 45, 50, 56]}
///     - {name: city, column: city, type: categorical}
///     - {name: region, column: zip, type: categorical, prefix: 1}      # derived: first character
/// items:
///   file: items.csv
///   id: item_id
///   title: title              # optional
///   release: released         # optional date column, for the protocol's new-item rule
///   features:
///     - {name: tags, column: tags, type: multi-categorical, separator: "|"}
///     - {name: decade, column: released, type: date, granularity: decade}
///     - {name: year, column: title, type: numeric, pattern: "\\((\\d{4})\\)$"}  # derived: a capture
///   vectors: {file: item_vectors.txt, name: pretrained}   # item id then floats per line
/// ```
public enum GenericLog {
    public static let featureTypes = ["categorical", "multi-categorical", "numeric", "date", "dense", "text"]

    /// Reads the data set a schema file describes.
    public static func load(
        schema url: URL, options: ImportOptions = ImportOptions(), feedbackOverride: FeedbackKind? = nil
    ) throws -> Dataset {
        let schemaFile = try TextFile.read(url)
        let schema = try Schema.parse(schemaFile)
        let base = url.deletingLastPathComponent()
        var builder = DatasetBuilder(feedback: feedbackOverride ?? schema.feedback, options: options)
        builder.checksums[schemaFile.name] = schemaFile.checksum

        // Interactions.
        let log = schema.interactions
        let ratings = try builder.read(schemaPath(log.file, base: base))
        let header = log.header ? try headerFields(ratings, delimiter: log.delimiter, quotes: log.quotes) : []
        func column(_ ref: ColumnRef, _ role: String) throws -> Int {
            try ref.resolve(header: header, file: ratings.name, schema: schemaFile.name, role: role)
        }
        let columns = RatingColumns(
            user: try column(log.user, "user"), item: try column(log.item, "item"),
            value: try log.value.map { try column($0, "value") },
            timestamp: try log.timestamp.map { try column($0, "timestamp") },
            valueName: "value", flexibleTime: true, scale: log.scale, dateFormat: log.dateFormat)
        let needed = [columns.user, columns.item, columns.value ?? 0, columns.timestamp ?? 0].max()! + 1
        let roles =
            ["user", "item"] + (log.value == nil ? [] : ["value"]) + (log.timestamp == nil ? [] : ["timestamp"])
        try builder.readRatings(
            ratings,
            RecordFormat(
                delimiter: log.delimiter, quotes: log.quotes, header: log.header, fields: .atLeast(needed),
                describe:
                    "at least \(needed) \(RecordFormat.delimiterName(log.delimiter)) fields (\(roles.joined(separator: ", ")))"
            ),
            columns)
        let (interactions, duplicates) = try builder.finishInteractions()

        var userFeatures = RawFeatures()
        if let side = schema.users {
            userFeatures = try readSide(
                side, base: base, schemaName: schemaFile.name, ids: builder.users, count: builder.userIDs.count,
                builder: &builder, kind: "users"
            ).features
        }
        var itemFeatures = RawFeatures()
        var titles: [String]? = nil
        var release: [Int64?]? = nil
        if let side = schema.items {
            let result = try readSide(
                side, base: base, schemaName: schemaFile.name, ids: builder.items, count: builder.itemIDs.count,
                builder: &builder, kind: "items")
            itemFeatures = result.features
            titles = result.titles
            release = result.release
        }
        return builder.makeDataset(
            name: schema.name ?? url.deletingPathExtension().lastPathComponent, interactions: interactions,
            duplicates: duplicates,
            itemTitles: titles, itemReleaseTimes: release, userFeatures: userFeatures, itemFeatures: itemFeatures)
    }

    /// A file named in the schema: an absolute path as it is, a relative one from the schema's folder.
    static func schemaPath(_ path: String, base: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
    }

    // MARK: feature files

    static func readSide(
        _ side: SideSchema, base: URL, schemaName: String, ids: IDCollector, count: Int, builder: inout DatasetBuilder,
        kind: String
    )
        throws -> (features: RawFeatures, titles: [String]?, release: [Int64?]?)
    {
        var columns: [RawFeatureColumn] = []
        var titles: [String]? = nil
        var release: [Int64?]? = nil
        if let fileName = side.file {
            let file = try builder.read(schemaPath(fileName, base: base))
            let header = side.header ? try headerFields(file, delimiter: side.delimiter, quotes: side.quotes) : []
            func resolve(_ ref: ColumnRef, _ role: String) throws -> Int {
                try ref.resolve(header: header, file: file.name, schema: schemaName, role: role)
            }
            let idColumn = try resolve(side.id, "id")
            let featureColumns = try side.features.map { try resolve($0.column, "feature '\($0.name)'") }
            let titleColumn = try side.title.map { try resolve($0, "title") }
            let releaseColumn = try side.release.map { try resolve($0, "release") }
            let needed = ([idColumn] + featureColumns + [titleColumn ?? 0, releaseColumn ?? 0]).max()! + 1

            var categories = side.features.map { _ in [[String]](repeating: [], count: count) }
            var numbers = side.features.map { _ in [Double?](repeating: nil, count: count) }
            var vectors = side.features.map { _ in [Float]() }
            var dimensions = side.features.map { _ in 0 }
            var present = side.features.map { _ in [Bool](repeating: false, count: count) }
            var rowVectors = side.features.map { _ in [Float]() }
            var seen = [Bool](repeating: false, count: count)
            if titleColumn != nil { titles = [String](repeating: "", count: count) }
            if releaseColumn != nil { release = [Int64?](repeating: nil, count: count) }
            try forEachRecord(
                file,
                RecordFormat(
                    delimiter: side.delimiter, quotes: side.quotes, header: side.header, fields: .atLeast(needed),
                    describe: "at least \(needed) \(RecordFormat.delimiterName(side.delimiter)) fields"),
                &builder.handler
            ) { bytes, fields, line in
                // Parse everything first, so a bad line leaves no partial entity behind.
                var parsedNumbers = [Double?](repeating: nil, count: side.features.count)
                for (f, feature) in side.features.enumerated() {
                    let text = feature.derive(fieldText(bytes, fields[featureColumns[f]]))
                    switch feature.kind {
                    case .numericBucketed, .numericStandardized:
                        if !text.isEmpty {
                            guard let v = Double(text), v.isFinite else {
                                throw DataError(
                                    file: file.name, line: line,
                                    "expected a number for feature '\(feature.name)', found '\(text)'")
                            }
                            parsedNumbers[f] = v
                        }
                    case .date:
                        if !text.isEmpty {
                            guard let t = parseDate(text, schemaFormat: side.dateFormat) else {
                                throw DataError(
                                    file: file.name, line: line,
                                    "expected a date (2020-01-31, 31-Jan-2020, a year, or seconds since 1970) for feature '\(feature.name)', found '\(text)'"
                                )
                            }
                            parsedNumbers[f] = Double(t)
                        }
                    case .dense:
                        rowVectors[f] = []
                        if !text.isEmpty {
                            for part in text.split(separator: feature.separator)
                            where !part.trimmingCharacters(in: .whitespaces).isEmpty {
                                guard let v = Float(part.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                                    throw DataError(
                                        file: file.name, line: line,
                                        "expected numbers separated by '\(feature.separator)' for feature '\(feature.name)', found '\(part)'"
                                    )
                                }
                                rowVectors[f].append(v)
                            }
                            if dimensions[f] == 0 { dimensions[f] = rowVectors[f].count }
                            guard rowVectors[f].count == dimensions[f] else {
                                throw DataError(
                                    file: file.name, line: line,
                                    "expected \(dimensions[f]) numbers for feature '\(feature.name)' (as on earlier lines), found \(rowVectors[f].count)"
                                )
                            }
                        }
                    default: break
                    }
                }
                var releaseTime: Int64? = nil
                if let c = releaseColumn {
                    let text = fieldText(bytes, fields[c])
                    if !text.isEmpty {
                        guard let t = parseDate(text, schemaFormat: side.dateFormat) else {
                            throw DataError(
                                file: file.name, line: line,
                                "expected a release date (2020-01-31, a year, or seconds since 1970), found '\(text)'")
                        }
                        releaseTime = t
                    }
                }
                guard let e = ids.finalIndex(bytes, fields[idColumn]) else { return }  // no interactions
                let entity = Int(e)
                seen[entity] = true
                for (f, feature) in side.features.enumerated() {
                    switch feature.kind {
                    case .categorical, .text:
                        categories[f][entity] = nonEmpty(feature.derive(fieldText(bytes, fields[featureColumns[f]])))
                    case .multiCategorical:
                        categories[f][entity] = feature.derive(fieldText(bytes, fields[featureColumns[f]])).split(
                            separator: feature.separator
                        )
                        .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                    case .numericBucketed, .numericStandardized, .date: numbers[f][entity] = parsedNumbers[f]
                    case .dense:
                        if !rowVectors[f].isEmpty {
                            if vectors[f].isEmpty { vectors[f] = [Float](repeating: 0, count: count * dimensions[f]) }
                            vectors[f].replaceSubrange(
                                (entity * dimensions[f])..<((entity + 1) * dimensions[f]), with: rowVectors[f])
                            present[f][entity] = true
                        }
                    }
                }
                if let c = titleColumn { titles![entity] = fieldText(bytes, fields[c]) }
                if releaseColumn != nil { release![entity] = releaseTime }
            }
            builder.warnMissing(
                kind, file: file.name, present: seen, ids: kind == "users" ? builder.userIDs : builder.itemIDs)
            if file.bytes.withUnsafeBufferPointer({ String(validating: $0, as: UTF8.self) == nil }) {
                builder.warnings.append(
                    LoadWarning(file: file.name, message: "is not valid UTF-8: text fields were read as ISO-8859-1"))
            }
            for (f, feature) in side.features.enumerated() {
                let values: RawFeatureValues
                switch feature.kind {
                case .categorical, .multiCategorical, .text: values = .categories(categories[f])
                case .numericBucketed, .numericStandardized, .date: values = .numbers(numbers[f])
                case .dense:
                    let d = max(dimensions[f], 1)
                    if vectors[f].isEmpty { vectors[f] = [Float](repeating: 0, count: count * d) }
                    values = .vectors(dimension: d, values: vectors[f], present: present[f])
                }
                columns.append(RawFeatureColumn(name: feature.name, spec: feature.spec, values: values))
            }
        }
        if let v = side.vectors {
            columns.append(
                try readVectors(schemaPath(v.file, base: base), name: v.name, ids: ids, count: count, builder: &builder)
            )
        }
        return (RawFeatures(columns: columns), titles, release)
    }

    /// A dense-vector file: per line an entity id then floats, separated by blanks or commas.
    /// Entities without a line get zeros (`present` false).
    static func readVectors(_ url: URL, name: String, ids: IDCollector, count: Int, builder: inout DatasetBuilder)
        throws -> RawFeatureColumn
    {
        let file = try builder.read(url)
        var dimension = 0
        var values: [Float] = []
        var present = [Bool](repeating: false, count: count)
        var row: [Float] = []
        var tokens: [Range<Int>] = []
        try file.bytes.withUnsafeBufferPointer { bytes in
            try forEachLine(bytes) { line, range in
                do {
                    tokens.removeAll(keepingCapacity: true)
                    var i = range.lowerBound
                    while i < range.upperBound {
                        while i < range.upperBound && (bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x2C) {
                            i += 1
                        }
                        let start = i
                        while i < range.upperBound && !(bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x2C) {
                            i += 1
                        }
                        if i > start { tokens.append(start..<i) }
                    }
                    guard tokens.count >= 2 else {
                        throw DataError(
                            file: file.name, line: line,
                            "expected an id followed by numbers, found \(tokens.count) field\(tokens.count == 1 ? "" : "s")"
                        )
                    }
                    row.removeAll(keepingCapacity: true)
                    for t in tokens.dropFirst() {
                        guard let v = parseDouble(bytes, t) else {
                            throw DataError(
                                file: file.name, line: line, "expected a number, found '\(decodeText(bytes, t))'")
                        }
                        row.append(Float(v))
                    }
                    if dimension == 0 {
                        dimension = row.count
                        values = [Float](repeating: 0, count: count * dimension)
                    }
                    guard row.count == dimension else {
                        throw DataError(
                            file: file.name, line: line,
                            "expected \(dimension) numbers after the id (as on the first line), found \(row.count)")
                    }
                    guard let e = ids.finalIndex(bytes, Field(range: tokens[0], quoted: false)) else { return }
                    values.replaceSubrange((Int(e) * dimension)..<((Int(e) + 1) * dimension), with: row)
                    present[Int(e)] = true
                } catch let error as DataError {
                    try builder.handler.handle(error)
                }
            }
        }
        guard dimension > 0 else {
            throw DataError(file: file.name, "no vectors found; expected lines 'id number number ...'")
        }
        return RawFeatureColumn(
            name: name, spec: FeatureSpec(kind: .dense),
            values: .vectors(dimension: dimension, values: values, present: present))
    }

    // MARK: schema

    /// A column by header name or 0-based index.
    enum ColumnRef: Equatable {
        case name(String)
        case index(Int)

        func resolve(header: [String], file: String, schema: String, role: String) throws -> Int {
            switch self {
            case .index(let i): return i
            case .name(let n):
                guard !header.isEmpty else {
                    throw DataError(
                        file: schema,
                        "\(role) column '\(n)' is named, but \(file) has no header; use a 0-based column index or header: true"
                    )
                }
                guard let i = header.firstIndex(of: n) else {
                    throw DataError(
                        file: schema,
                        "\(role) column '\(n)' is not in \(file)'s header; expected one of \(header.joined(separator: ", "))"
                    )
                }
                return i
            }
        }
    }

    struct FeatureSchema {
        var name: String
        var column: ColumnRef
        var kind: FeatureKind
        var separator: Character
        var spec: FeatureSpec
        /// A derived column: the first capture of `pattern` (empty, i.e. missing, when it does not match)...
        var pattern: NSRegularExpression? = nil
        /// ...or the first `prefix` characters (a zip code's region).
        var prefix: Int? = nil

        /// The feature's text from its column's text.
        func derive(_ text: String) -> String {
            var text = text
            if let pattern {
                let range = NSRange(text.startIndex..., in: text)
                guard let match = pattern.firstMatch(in: text, range: range), match.numberOfRanges > 1,
                    let capture = Range(match.range(at: 1), in: text)
                else { return "" }
                text = String(text[capture])
            }
            if let prefix { text = String(text.prefix(prefix)) }
            return text
        }
    }

    struct SideSchema {
        var file: String?
        var delimiter: [UInt8]
        var header: Bool
        var quotes: Bool
        var id: ColumnRef
        var title: ColumnRef?
        var release: ColumnRef?
        var features: [FeatureSchema]
        var vectors: (file: String, name: String)?
        /// The schema's `date_format` (strptime-style), tried before the built-in forms.
        var dateFormat: String? = nil
    }

    struct LogSchema {
        var file: String
        var delimiter: [UInt8]
        var header: Bool
        var quotes: Bool
        var user: ColumnRef
        var item: ColumnRef
        var value: ColumnRef?
        var timestamp: ColumnRef?
        /// The declared range of values (e.g. 1 to 5 stars); values outside it are refused.
        var scale: ClosedRange<Double>?
        var dateFormat: String? = nil
    }

    struct Schema {
        var name: String?
        var feedback: FeedbackKind
        var interactions: LogSchema
        var users: SideSchema?
        var items: SideSchema?

        static func parse(_ file: TextFile) throws -> Schema {
            let text = String(decoding: file.bytes, as: UTF8.self)
            let object: Any?
            let looksJSON = file.name.lowercased().hasSuffix(".json") || text.drop { $0.isWhitespace }.first == "{"
            do {
                if looksJSON {
                    object = try JSONSerialization.jsonObject(with: Data(file.bytes))
                } else {
                    object = try SchemaYAML.load(text, file: file.name)
                }
            } catch let error as DataError {
                throw error
            } catch {
                throw DataError(
                    file: file.name, "expected a \(looksJSON ? "JSON" : "YAML") schema; the parser said: \(error)")
            }
            guard let root = object as? [String: Any] else {
                throw DataError(
                    file: file.name, "expected a mapping at the top level (name, feedback, interactions, users, items)")
            }
            let p = Parser(file: file.name)
            try p.allowOnly(
                root, ["name", "feedback", "threshold", "date_format", "interactions", "users", "items"],
                at: "the top level")
            let dateFormat = try p.string(root, "date_format", at: "the top level")
            if let dateFormat, !dateFormat.contains("%") {
                throw DataError(
                    file: file.name,
                    "the top level: 'date_format' must be a strptime-style format such as \"%d/%m/%Y\", found '\(dateFormat)'"
                )
            }

            var feedback = FeedbackKind.explicit
            switch try p.string(root, "feedback", at: "the top level") ?? "explicit" {
            case "explicit": feedback = .explicit
            case "implicit":
                let threshold = try p.number(root, "threshold", at: "the top level") ?? 1
                guard threshold.isFinite, Float(threshold).isFinite else {
                    throw DataError(
                        file: file.name, "the top level: expected a finite number for 'threshold', found \(threshold)")
                }
                feedback = .implicit(threshold: Float(threshold))
            case let other:
                throw DataError(file: file.name, "feedback '\(other)' is unknown; expected explicit or implicit")
            }
            guard let log = root["interactions"] as? [String: Any] else {
                throw DataError(file: file.name, "expected an 'interactions' mapping with file, user and item")
            }
            try p.allowOnly(
                log, ["file", "delimiter", "header", "quotes", "user", "item", "value", "timestamp", "scale"],
                at: "interactions")
            guard let logFile = try p.string(log, "file", at: "interactions") else {
                throw DataError(file: file.name, "interactions: expected 'file'")
            }
            let logDelimiter = try p.delimiter(log, at: "interactions", fileName: logFile)
            guard let user = try p.column(log, "user", at: "interactions"),
                let item = try p.column(log, "item", at: "interactions")
            else {
                throw DataError(
                    file: file.name,
                    "interactions: expected 'user' and 'item' columns (header names or 0-based indices)")
            }
            var scale: ClosedRange<Double>? = nil
            if let declared = log["scale"] {
                let bounds = (declared as? [Any])?.compactMap(p.asNumber) ?? []
                guard bounds.count == 2, bounds.allSatisfy(\.isFinite), bounds[0] < bounds[1] else {
                    throw DataError(
                        file: file.name,
                        "interactions: expected 'scale' to be [lowest, highest] finite numbers, lowest first, found \(declared)"
                    )
                }
                scale = bounds[0]...bounds[1]
            }
            let interactions = LogSchema(
                file: logFile, delimiter: logDelimiter, header: try p.bool(log, "header", at: "interactions") ?? true,
                quotes: try p.bool(log, "quotes", at: "interactions") ?? (logDelimiter == [0x2C]),
                user: user, item: item, value: try p.column(log, "value", at: "interactions"),
                timestamp: try p.column(log, "timestamp", at: "interactions"),
                scale: scale, dateFormat: dateFormat)
            var users = try root["users"].map { try p.side($0, at: "users") }
            var items = try root["items"].map { try p.side($0, at: "items") }
            users?.dateFormat = dateFormat
            items?.dateFormat = dateFormat
            return Schema(
                name: try p.string(root, "name", at: "the top level"), feedback: feedback, interactions: interactions,
                users: users, items: items)
        }
    }

    /// Typed access to the parsed schema, with errors that say where and what was expected.
    struct Parser {
        let file: String

        func allowOnly(_ map: [String: Any], _ keys: Set<String>, at place: String) throws {
            for key in map.keys.sorted() where !keys.contains(key) {
                throw DataError(
                    file: file,
                    "\(place): unknown key '\(key)'; expected one of \(keys.sorted().joined(separator: ", "))")
            }
        }

        func string(_ map: [String: Any], _ key: String, at place: String) throws -> String? {
            guard let v = map[key], !(v is NSNull) else { return nil }
            if let s = v as? String { return s }
            throw DataError(file: file, "\(place): expected text for '\(key)', found \(v)")
        }

        func number(_ map: [String: Any], _ key: String, at place: String) throws -> Double? {
            guard let v = map[key], !(v is NSNull) else { return nil }
            if let d = asNumber(v) { return d }
            throw DataError(file: file, "\(place): expected a number for '\(key)', found \(v)")
        }

        func asNumber(_ v: Any) -> Double? {
            if type(of: v) == Bool.self { return nil }
            if let i = v as? Int { return Double(i) }
            if let d = v as? Double { return d }
            if let n = v as? NSNumber { return n.doubleValue }
            if let s = v as? String { return Double(s) }
            return nil
        }

        func bool(_ map: [String: Any], _ key: String, at place: String) throws -> Bool? {
            guard let v = map[key], !(v is NSNull) else { return nil }
            if let b = v as? Bool { return b }
            if let s = v as? String, ["yes", "true", "no", "false"].contains(s.lowercased()) {
                return ["yes", "true"].contains(s.lowercased())
            }
            throw DataError(file: file, "\(place): expected yes/no for '\(key)', found \(v)")
        }

        func column(_ map: [String: Any], _ key: String, at place: String) throws -> GenericLog.ColumnRef? {
            guard let v = map[key], !(v is NSNull) else { return nil }
            if let s = v as? String { return .name(s) }
            if let d = asNumber(v), d >= 0, d == d.rounded(), d < 1_000_000 { return .index(Int(d)) }
            throw DataError(file: file, "\(place): expected a column name or 0-based index for '\(key)', found \(v)")
        }

        func delimiter(_ map: [String: Any], at place: String, fileName: String) throws -> [UInt8] {
            guard let d = try string(map, "delimiter", at: place) else {
                let lower = fileName.lowercased()
                return lower.hasSuffix(".tsv") || lower.hasSuffix(".tab")
                    ? [0x09] : lower.hasSuffix(".dat") ? [0x3A, 0x3A] : [0x2C]
            }
            switch d.lowercased() {
            case "tab", "\\t", "\t": return [0x09]
            case "comma": return [0x2C]
            case "semicolon": return [0x3B]
            case "pipe": return [0x7C]
            case "space": return [0x20]
            default:
                guard !d.isEmpty else { throw DataError(file: file, "\(place): the delimiter is empty") }
                return Array(d.utf8)
            }
        }

        func side(_ value: Any, at place: String) throws -> GenericLog.SideSchema {
            guard let map = value as? [String: Any] else {
                throw DataError(file: file, "\(place): expected a mapping with file, id and features")
            }
            try allowOnly(
                map, ["file", "delimiter", "header", "quotes", "id", "title", "release", "features", "vectors"],
                at: place)
            let fileName = try string(map, "file", at: place)
            let delimiter = try self.delimiter(map, at: place, fileName: fileName ?? "")
            var features: [GenericLog.FeatureSchema] = []
            if let list = map["features"] {
                guard let list = list as? [Any] else {
                    throw DataError(file: file, "\(place): expected a list of features")
                }
                for entry in list { features.append(try feature(entry, at: place)) }
            }
            var vectors: (file: String, name: String)? = nil
            if let v = map["vectors"] {
                guard let v = v as? [String: Any], let f = try string(v, "file", at: "\(place).vectors") else {
                    throw DataError(
                        file: file, "\(place).vectors: expected a mapping with 'file' (and optionally 'name')")
                }
                vectors = (f, try string(v, "name", at: "\(place).vectors") ?? "vector")
            }
            if fileName == nil && !features.isEmpty { throw DataError(file: file, "\(place): features need a 'file'") }
            return GenericLog.SideSchema(
                file: fileName, delimiter: delimiter, header: try bool(map, "header", at: place) ?? true,
                quotes: try bool(map, "quotes", at: place) ?? (delimiter == [0x2C]),
                id: try column(map, "id", at: place) ?? .index(0), title: try column(map, "title", at: place),
                release: try column(map, "release", at: place), features: features, vectors: vectors)
        }

        func feature(_ value: Any, at place: String) throws -> GenericLog.FeatureSchema {
            guard let map = value as? [String: Any] else {
                throw DataError(file: file, "\(place): expected each feature to be a mapping with name and type")
            }
            guard
                let name = try string(map, "name", at: "\(place) feature") ?? (try? string(map, "column", at: place))
                    ?? nil
            else {
                throw DataError(file: file, "\(place): a feature needs a 'name'")
            }
            let where_ = "\(place) feature '\(name)'"
            try allowOnly(
                map,
                ["name", "column", "type", "separator", "transform", "buckets", "granularity", "pattern", "prefix"],
                at: where_)
            var pattern: NSRegularExpression? = nil
            if let text = try string(map, "pattern", at: where_) {
                do { pattern = try NSRegularExpression(pattern: text) } catch {
                    throw DataError(file: file, "\(where_): 'pattern' is not a valid regular expression: \(text)")
                }
                guard pattern!.numberOfCaptureGroups >= 1 else {
                    throw DataError(
                        file: file,
                        "\(where_): 'pattern' needs a capture group, e.g. \"\\\\((\\\\d{4})\\\\)\" for the year in 'Heat (1995)'"
                    )
                }
            }
            var prefix: Int? = nil
            if let value = try number(map, "prefix", at: where_) {
                guard value >= 1, value <= 1000, value == value.rounded() else {
                    throw DataError(
                        file: file, "\(where_): 'prefix' must be a count of characters from 1 to 1000, found \(value)")
                }
                prefix = Int(value)
            }
            guard let type = try string(map, "type", at: where_) else {
                throw DataError(
                    file: file,
                    "feature '\(name)' has no type; expected one of \(GenericLog.featureTypes.joined(separator: ", "))")
            }
            let column = try self.column(map, "column", at: where_) ?? .name(name)
            let separatorText = try string(map, "separator", at: where_)
            var spec = FeatureSpec(kind: .categorical)
            var separator: Character = "|"
            switch type.lowercased() {
            case "categorical": spec.kind = .categorical
            case "text": spec.kind = .text
            case "multi-categorical", "multicategorical", "multi_categorical":
                spec.kind = .multiCategorical
                separator = separatorText?.first ?? "|"
            case "numeric":
                let transform = try string(map, "transform", at: where_)?.lowercased()
                let buckets = map["buckets"]
                switch transform {
                case nil where buckets == nil, "standardized", "standardised", "standardize":
                    spec.kind = .numericStandardized
                case nil, "bucketed", "buckets":
                    spec.kind = .numericBucketed
                    if let list = buckets as? [Any] {
                        let bounds = list.compactMap(asNumber)
                        guard bounds.count == list.count, !bounds.isEmpty,
                            zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 })
                        else {
                            throw DataError(
                                file: file,
                                "\(where_): expected 'buckets' to be increasing numbers (boundaries) or a bucket count")
                        }
                        spec.bucketBoundaries = bounds
                    } else if let b = buckets {
                        guard let count = asNumber(b), count >= 2, count <= 10_000 else {
                            throw DataError(
                                file: file,
                                "\(where_): expected 'buckets' to be a count of at least 2 or a list of boundaries, found \(b)"
                            )
                        }
                        spec.bucketCount = Int(count)
                    }
                case let other?:
                    throw DataError(
                        file: file, "\(where_): transform '\(other)' is unknown; expected standardized or bucketed")
                }
            case "date":
                spec.kind = .date
                switch try string(map, "granularity", at: where_)?.lowercased() ?? "year" {
                case "year": spec.dateGranularity = .year
                case "decade": spec.dateGranularity = .decade
                case let other:
                    throw DataError(file: file, "\(where_): granularity '\(other)' is unknown; expected year or decade")
                }
            case "dense":
                spec.kind = .dense
                separator = separatorText?.first ?? " "
            default:
                throw DataError(
                    file: file,
                    "feature '\(name)' has unknown type '\(type)'; expected one of \(GenericLog.featureTypes.joined(separator: ", "))"
                )
            }
            return GenericLog.FeatureSchema(
                name: name, column: column, kind: spec.kind, separator: separator, spec: spec,
                pattern: pattern, prefix: prefix)
        }
    }
}
