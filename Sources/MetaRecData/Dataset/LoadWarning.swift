/// Something a reader accepted but a user should know: returned with the data set (the
/// library prints nothing; the command-line tool prints these). Counted, with the first few ids
/// or lines, so that a file with 10,000 such cases gives one line, not 10,000.
public struct LoadWarning: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var count: Int
    /// The first few ids or line numbers concerned.
    public var examples: [String]

    public init(file: String, message: String, count: Int = 1, examples: [String] = []) {
        self.file = file
        self.message = message
        self.count = count
        self.examples = examples
    }

    public var description: String {
        let shown = examples.prefix(5).joined(separator: ", ")
        let more = examples.isEmpty ? "" : " (first: \(shown)\(count > 5 ? ", ..." : ""))"
        return "\(file): \(message)\(more)"
    }
}

extension DatasetBuilder {
    /// Warns about entities with interactions but no row in a side file: they get no features.
    mutating func warnMissing(_ kind: String, file: String, present: [Bool], ids: [String]) {
        let missing = present.indices.filter { !present[$0] }
        guard !missing.isEmpty else { return }
        warnings.append(
            LoadWarning(
                file: file,
                message:
                    "\(missing.count) of \(present.count) \(kind) with interactions have no line here, so no features",
                count: missing.count, examples: missing.prefix(5).map { ids[$0] }))
    }

    /// Warns about ids that are different text for the same number ("01" and "1"): they are
    /// kept apart, as the file wrote them, but are probably one entity.
    mutating func warnLeadingZeros(_ kind: String, ids: [String]) {
        var byValue: [Int64: [String]] = [:]
        for id in ids where !id.isEmpty && id.count <= 18 && id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            byValue[Int64(id)!, default: []].append(id)
        }
        let clashes = byValue.values.filter { $0.count > 1 }.map { $0.sorted().joined(separator: " / ") }.sorted()
        guard !clashes.isEmpty else { return }
        warnings.append(
            LoadWarning(
                file: ratingsFile,
                message: "\(clashes.count) \(kind) ids differ only by leading zeros and are kept as different \(kind)",
                count: clashes.count, examples: clashes))
    }

    /// Warns when a file does not end with a line end: its last line may have been cut.
    mutating func warnUnterminated(_ file: TextFile) {
        guard let last = file.bytes.last, last != 0x0A else { return }
        let lines = file.bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        warnings.append(
            LoadWarning(
                file: file.name,
                message: "the last line (line \(lines)) has no line end: the file may have been cut; check that line",
                examples: ["line \(lines)"]))
    }
}

/// Whether `bytes` hold non-ASCII text that is valid UTF-8: a file MovieLens declares as
/// ISO-8859-1 but that was re-encoded (reading it as Latin-1 would give "MisÃ©rables").
func isNonASCIIUTF8(_ bytes: [UInt8]) -> Bool {
    guard bytes.contains(where: { $0 >= 0x80 }) else { return false }
    return bytes.withUnsafeBufferPointer { String(validating: $0, as: UTF8.self) != nil }
}
