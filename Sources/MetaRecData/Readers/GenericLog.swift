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
}
