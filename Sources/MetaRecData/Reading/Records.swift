import Foundation

/// How many fields a record must have.
enum FieldCount {
    case exactly(Int)
    case atLeast(Int)

    func accepts(_ n: Int) -> Bool {
        switch self {
        case .exactly(let k): return n == k
        case .atLeast(let k): return n >= k
        }
    }
}

/// The textual layout of a delimited file.
struct RecordFormat {
    var delimiter: [UInt8]
    var quotes: Bool
    var header: Bool
    var fields: FieldCount
    /// What a line should look like, for error messages: "4 tab-separated fields (user, item, rating, timestamp)".
    var describe: String

    static func delimiterName(_ d: [UInt8]) -> String {
        switch d {
        case [0x09]: return "tab-separated"
        case [0x2C]: return "comma-separated"
        case [0x7C]: return "'|'-separated"
        case [0x3A, 0x3A]: return "'::'-separated"
        case [0x3B]: return "';'-separated"
        case [0x20]: return "space-separated"
        default: return "'\(String(decoding: d, as: UTF8.self))'-separated"
        }
    }
}

/// Calls `body` with the fields of each record of `file`. A line with the wrong number of
/// fields, or for which `body` throws a `DataError`, goes to `handler` (skipped and counted, or
/// rethrown). Returns the number of records accepted.
@discardableResult
func forEachRecord(
    _ file: TextFile, _ format: RecordFormat, _ handler: inout BadLineHandler,
    _ body: (UnsafeBufferPointer<UInt8>, [Field], Int) throws -> Void
) throws -> Int {
    var fields: [Field] = []
    fields.reserveCapacity(32)
    var accepted = 0
    var headerPending = format.header
    try file.bytes.withUnsafeBufferPointer { bytes in
        try forEachLine(bytes) { lineNumber, line in
            if headerPending {
                headerPending = false
                return
            }
            guard splitFields(bytes, line, delimiter: format.delimiter, quotes: format.quotes, into: &fields) else {
                try handler.handle(
                    DataError(
                        file: file.name, line: lineNumber, "unterminated quoted field; expected \(format.describe)"))
                return
            }
            guard format.fields.accepts(fields.count) else {
                try handler.handle(
                    DataError(file: file.name, line: lineNumber, "expected \(format.describe), found \(fields.count)"))
                return
            }
            do {
                try body(bytes, fields, lineNumber)
                accepted += 1
            } catch let error as DataError {
                try handler.handle(error)
            }
        }
    }
    return accepted
}

/// Reads the first non-blank line's fields (a header), as text.
func headerFields(_ file: TextFile, delimiter: [UInt8], quotes: Bool) throws -> [String] {
    var result: [String]? = nil
    var fields: [Field] = []
    file.bytes.withUnsafeBufferPointer { bytes in
        forEachLine(bytes) { _, line in
            guard result == nil else { return }
            if splitFields(bytes, line, delimiter: delimiter, quotes: quotes, into: &fields) {
                result = fields.map { fieldText(bytes, $0) }
            } else {
                result = []
            }
        }
    }
    guard let result else { throw DataError(file: file.name, "file is empty; expected a header line") }
    return result.map { $0.hasPrefix("\u{FEFF}") ? String($0.dropFirst()) : $0 }
}

/// Where the rating columns are.
struct RatingColumns {
    var user: Int
    var item: Int
    var value: Int?
    var timestamp: Int?
    var valueName = "rating"
    /// Unix seconds only (MovieLens), or also dates such as "2020-01-31" (generic logs).
    var flexibleTime = false
    /// The data set's scale (MovieLens: 1-5 or 0.5-5 stars; a schema's `scale`): values outside are refused.
    var scale: ClosedRange<Double>? = nil
    /// A schema's strptime-style `date_format`, tried before the built-in forms.
    var dateFormat: String? = nil
}

/// Accumulates ratings from one or more files, then produces the `Dataset` invariants.
struct DatasetBuilder {
    var users = IDCollector(expected: 1 << 12)
    var items = IDCollector(expected: 1 << 12)
    var raw: [Interaction] = []
    var handler: BadLineHandler
    var checksums: [String: String] = [:]
    var feedback: FeedbackKind
    var ratingsFile = "ratings"
    var userIDs: [String] = []
    var itemIDs: [String] = []
    var warnings: [LoadWarning] = []

    init(feedback: FeedbackKind, options: ImportOptions) {
        self.feedback = feedback
        self.handler = BadLineHandler(options)
    }

    mutating func read(_ url: URL) throws -> TextFile {
        let file = try TextFile.read(url)
        checksums[file.name] = file.checksum
        warnUnterminated(file)
        return file
    }

    mutating func readRatings(_ file: TextFile, _ format: RecordFormat, _ columns: RatingColumns) throws {
        ratingsFile = file.name
        raw.reserveCapacity(raw.count + file.bytes.count / 20)
        let feedback = self.feedback
        var users = self.users
        var items = self.items
        var raw = self.raw
        self.users = IDCollector()
        self.items = IDCollector()
        self.raw = []
        defer {
            self.users = users
            self.items = items
            self.raw = raw
        }
        try forEachRecord(file, format, &handler) { bytes, fields, lineNumber in
            var value: Float = 1
            if let c = columns.value {
                guard let v = parseDouble(bytes, fields[c].range) else {
                    throw DataError(
                        file: file.name, line: lineNumber,
                        "expected a number for the \(columns.valueName) (column \(c + 1)), found '\(fieldText(bytes, fields[c]))'"
                    )
                }
                guard v.isFinite, Float(v).isFinite else {
                    throw DataError(
                        file: file.name, line: lineNumber,
                        "expected a finite \(columns.valueName) (column \(c + 1)), found '\(fieldText(bytes, fields[c]))'"
                    )
                }
                if let scale = columns.scale, !scale.contains(v) {
                    throw DataError(
                        file: file.name, line: lineNumber,
                        "\(columns.valueName) \(fieldText(bytes, fields[c])) (column \(c + 1)) is outside the data set's scale \(scale.lowerBound.formatted6)-\(scale.upperBound.formatted6)"
                    )
                }
                value = Float(v)
            }
            var time = Int64(lineNumber)
            if let c = columns.timestamp {
                if let t = parseInt(bytes, fields[c].range) {
                    time = t
                } else if columns.flexibleTime,
                    let t = parseDate(fieldText(bytes, fields[c]), schemaFormat: columns.dateFormat)
                {
                    time = t
                } else {
                    let expected =
                        columns.flexibleTime
                        ? "seconds since 1970 or a date such as 2020-01-31" : "integer seconds since 1970"
                    throw DataError(
                        file: file.name, line: lineNumber,
                        "expected a timestamp (\(expected)) in column \(c + 1), found '\(fieldText(bytes, fields[c]))'")
                }
            }
            guard let u = users.index(bytes, fields[columns.user]) else {
                throw DataError(
                    file: file.name, line: lineNumber,
                    "expected a user id in column \(columns.user + 1), found an empty field")
            }
            guard let i = items.index(bytes, fields[columns.item]) else {
                throw DataError(
                    file: file.name, line: lineNumber,
                    "expected an item id in column \(columns.item + 1), found an empty field")
            }
            raw.append(Interaction(user: u, item: i, value: feedback.map(value), timestamp: time))
        }
    }

    /// Renumbers ids and applies the duplicate rule. Throws on an empty data set.
    mutating func finishInteractions() throws -> (interactions: [Interaction], duplicates: Int) {
        guard !raw.isEmpty else {
            let skipped = handler.skipped > 0 ? " (\(handler.skipped) bad lines skipped)" : ""
            throw DataError(
                file: ratingsFile, "no ratings found; expected at least one line of data (empty data set)\(skipped)")
        }
        userIDs = users.finish()
        itemIDs = items.finish()
        warnLeadingZeros("user", ids: userIDs)
        warnLeadingZeros("item", ids: itemIDs)
        let result = canonicalize(raw, userRemap: users.remap, itemRemap: items.remap, userCount: userIDs.count)
        raw = []
        return result
    }

    func makeDataset(
        name: String, interactions: [Interaction], duplicates: Int, itemTitles: [String]? = nil,
        itemReleaseTimes: [Int64?]? = nil, userFeatures: RawFeatures = RawFeatures(),
        itemFeatures: RawFeatures = RawFeatures()
    ) -> Dataset {
        Dataset(
            name: name, feedback: feedback, userCount: userIDs.count, itemCount: itemIDs.count,
            interactions: interactions, userIDs: userIDs, itemIDs: itemIDs, itemTitles: itemTitles,
            itemReleaseTimes: itemReleaseTimes, rawUserFeatures: userFeatures, rawItemFeatures: itemFeatures,
            fileChecksums: checksums, skippedLines: handler.skipped, skipReport: handler.report,
            duplicatesRemoved: duplicates, loadWarnings: warnings)
    }
}

extension Double {
    /// A short form for messages: 5 rather than 5.0, 0.5 as it is.
    var formatted6: String { self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self) }
}
