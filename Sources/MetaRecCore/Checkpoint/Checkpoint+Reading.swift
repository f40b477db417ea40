import Foundation

extension Checkpoint {
    /// Reads and fully validates a checkpoint file; the error names the file and the problem.
    ///
    /// With `requireMetaRecFormat: false` a plain safetensors file (for example one written by
    /// Python's `safetensors`) is accepted without a checksum. A file that does carry
    /// `metarec.format` is verified in full either way.
    public init(contentsOf url: URL, requireMetaRecFormat: Bool = true) throws {
        let source = url.path
        let contents: Data
        do {
            contents = try Data(contentsOf: url)
        } catch {
            throw CheckpointError.unreadable(source: source, reason: error.localizedDescription)
        }
        self = try contents.withUnsafeBytes { bytes in
            try Checkpoint(parsing: bytes, source: source, requireMetaRecFormat: requireMetaRecFormat)
        }
    }

    /// Reads a checkpoint from the bytes of a file; `source` names the file in errors.
    public init(bytes: [UInt8], source: String, requireMetaRecFormat: Bool = true) throws {
        self = try bytes.withUnsafeBytes { raw in
            try Checkpoint(parsing: raw, source: source, requireMetaRecFormat: requireMetaRecFormat)
        }
    }

    /// The checks run in the order that gives the most useful message: framing; the format
    /// version (a newer file may differ in anything after it); the header's own consistency
    /// (shapes against byte ranges, ranges contiguous), so that a damaged header is not
    /// mistaken for a short file; truncation (a short file also fails its checksum, but
    /// "truncated" says why); the checksum; and last the dtype, so that in a MetaRec file a
    /// damaged dtype reads as damage rather than as an unsupported type.
    private init(parsing bytes: UnsafeRawBufferPointer, source: String, requireMetaRecFormat: Bool) throws {
        func truncated(_ reason: String) -> CheckpointError { .truncated(source: source, reason: reason) }
        func corrupted(_ reason: String) -> CheckpointError { .corrupted(source: source, reason: reason) }

        guard bytes.count >= 8 else {
            throw truncated("the file has \(bytes.count) bytes, fewer than the 8-byte header length field")
        }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= Self.maximumHeaderLength else {
            throw corrupted(
                "the header length field says \(headerLength) bytes, over the \(Self.maximumHeaderLength)-byte limit")
        }
        let dataStart = 8 + Int(headerLength)
        guard dataStart <= bytes.count else {
            throw truncated(
                "the header length field says \(headerLength) bytes but only \(bytes.count - 8) bytes follow it")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
        let data = UnsafeRawBufferPointer(rebasing: bytes[dataStart...])

        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw corrupted("the header is not valid UTF-8")
        }
        let header: RawHeader
        do {
            header = try JSONDecoder().decode(RawHeader.self, from: Data(headerBytes))
        } catch {
            throw corrupted(Self.describe(error, in: "the header"))
        }

        var metadata = header.metadata ?? [:]
        if let version = metadata[Self.formatKey], version != Self.formatVersion {
            throw CheckpointError.unsupportedVersion(source: source, found: version, supported: Self.formatVersion)
        }

        var entries: [HeaderEntry] = []
        for (name, result) in header.entries {
            let raw: RawEntry
            let tensor = "tensor \(jsonQuoted(name))"
            do {
                raw = try result.get()
            } catch {
                throw corrupted(Self.describe(error, in: tensor))
            }
            guard let dtype = raw.dtype else { throw corrupted("\(tensor) has no dtype") }
            guard let shape = raw.shape else { throw corrupted("\(tensor) has no shape") }
            guard let offsets = raw.dataOffsets else { throw corrupted("\(tensor) has no data_offsets") }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw corrupted("\(tensor) has data_offsets \(offsets); expected [begin, end] with 0 <= begin <= end")
            }
            entries.append(HeaderEntry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }
        // Only now, so that a damaged MetaRec header (say, a bit flip in "__metadata__") is
        // reported as damage rather than as a foreign file.
        let isMetaRec = metadata[Self.formatKey] != nil
        if !isMetaRec && metadata[Self.checksumKey] != nil {
            throw corrupted("__metadata__ has \(Self.checksumKey) but no \(Self.formatKey)")
        }
        if !isMetaRec && requireMetaRecFormat {
            throw CheckpointError.notMetaRecCheckpoint(source: source)
        }
        // Data order; ties (empty tensors) by name so that every message is deterministic.
        entries.sort { a, b in
            (a.begin, a.end) == (b.begin, b.end) ? Self.utf8Order(a.name, b.name) : (a.begin, a.end) < (b.begin, b.end)
        }

        var position = 0
        for entry in entries {
            let tensor = "tensor \(jsonQuoted(entry.name))"
            guard let count = StoredTensor.elementCount(of: entry.shape) else {
                throw corrupted("\(tensor) has shape \(entry.shape): a negative dimension or too many elements")
            }
            // Other dtypes' sizes are not checked: they are refused below, after the checksum.
            let length = entry.end - entry.begin
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: 4)
            guard entry.dtype != "F32" || (!overflow && byteCount == length) else {
                throw corrupted(
                    "\(tensor) has shape \(entry.shape) (\(count) F32 values) "
                        + "but data_offsets [\(entry.begin), \(entry.end)] span \(length) bytes")
            }
            guard entry.begin == position else {
                throw corrupted(
                    entry.begin > position
                        ? "bytes \(position)..<\(entry.begin) of the data section belong to no tensor (gap before \(tensor))"
                        : "\(tensor) starts at byte \(entry.begin), inside the previous tensor, which ends at byte \(position)"
                )
            }
            position = entry.end
        }
        if position > data.count, let last = entries.last {
            throw truncated(
                "header says tensor \(jsonQuoted(last.name)) ends at byte \(position) "
                    + "but the data section has only \(data.count) bytes")
        }
        guard position == data.count else {
            throw corrupted("the tensors end at byte \(position) but the data section has \(data.count) bytes")
        }

        if isMetaRec {
            guard let expected = metadata[Self.checksumKey] else {
                throw corrupted("no \(Self.checksumKey) in __metadata__")
            }
            var crc = CRC32()
            crc.update(Self.canonicalDescription(entries: entries, metadata: metadata))
            crc.update(data)
            guard expected == crc.hexValue else {
                throw corrupted(
                    "checksum mismatch: expected \(expected) (stored in the header), "
                        + "found \(crc.hexValue) (computed from the header content and data)")
            }
        }
        if let other = entries.first(where: { $0.dtype != "F32" }) {
            throw CheckpointError.unsupportedDType(source: source, tensor: other.name, dtype: other.dtype)
        }

        var tensors: [String: StoredTensor] = [:]
        for entry in entries {
            let count = (entry.end - entry.begin) / 4
            let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for index in 0..<count {
                    let bits = data.loadUnaligned(fromByteOffset: entry.begin + 4 * index, as: UInt32.self)
                    buffer[index] = Float(bitPattern: UInt32(littleEndian: bits))
                }
                initialized = count
            }
            // Two names equal under Unicode canonical equivalence are one Swift dictionary key.
            // JSONDecoder already merges them (then the offsets show a gap); this guard keeps a
            // tensor from being dropped silently should a decoder ever hand both over.
            let previous = tensors.updateValue(StoredTensor(shape: entry.shape, values: values), forKey: entry.name)
            guard previous == nil else {
                throw corrupted("two tensors are named \(jsonQuoted(entry.name)) (equal as Unicode text)")
            }
        }
        metadata[Self.formatKey] = nil
        metadata[Self.checksumKey] = nil
        self.init(tensors: tensors, metadata: metadata)
    }

    /// A decoding error as a sentence about the header, with the path to the offending value.
    /// `part` names what was being decoded, for errors that carry no path.
    private static func describe(_ error: any Error, in part: String) -> String {
        // JSONDecoder reports a non-integer or out-of-range number where an Int is expected
        // with an error of its own rather than a DecodingError.
        guard let error = error as? DecodingError else { return "\(part) cannot be decoded: \(error)" }
        func place(_ path: [any CodingKey]) -> String {
            guard !path.isEmpty else { return "the header" }
            return "header"
                + path.map { key in key.intValue.map { "[\($0)]" } ?? "[\(jsonQuoted(key.stringValue))]" }.joined()
        }
        func kind(_ type: Any.Type) -> String {
            let name = String(describing: type)
            if type == String.self { return "a string" }
            if type == Int.self { return "an integer that fits in 64 bits" }
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") || name == "RawEntry" { return "a JSON object" }
            return name
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(place(context.codingPath)) is not \(kind(type))"
        case .valueNotFound(let type, let context):
            return "\(place(context.codingPath)) is null, expected \(kind(type))"
        case .keyNotFound(let key, let context):
            return "\(place(context.codingPath)) has no \(jsonQuoted(key.stringValue))"
        case .dataCorrupted(let context):
            let detail = context.underlyingError.map { "\(context.debugDescription) \($0)" } ?? context.debugDescription
            return context.codingPath.isEmpty
                ? "the header is not valid JSON (\(detail))"
                : "\(place(context.codingPath)) is invalid (\(context.debugDescription))"
        @unknown default:
            return "\(part) cannot be decoded: \(error)"
        }
    }
}

/// The header as JSON gives it, before validation. Tensor entries are kept as results so that
/// a bad entry is reported only after the format version has been checked.
private struct RawHeader: Decodable {
    var metadata: [String: String]?
    var entries: [(name: String, entry: Result<RawEntry, any Error>)]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: NameKey.self)
        metadata = try container.decodeIfPresent([String: String].self, forKey: NameKey(Checkpoint.metadataKey))
        // In name order, so that of several bad entries the same one is always reported.
        entries = container.allKeys.filter { $0.stringValue != Checkpoint.metadataKey }
            .sorted { Checkpoint.utf8Order($0.stringValue, $1.stringValue) }
            .map { key in (key.stringValue, Result { try container.decode(RawEntry.self, forKey: key) }) }
    }
}

private struct RawEntry: Decodable {
    var dtype: String?
    var shape: [Int]?
    var dataOffsets: [Int]?

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

private struct NameKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
