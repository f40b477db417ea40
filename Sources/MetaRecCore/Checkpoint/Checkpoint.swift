import Foundation

/// Named tensors plus string metadata, stored as a safetensors file.
///
/// safetensors (Hugging Face) is an 8-byte little-endian header length, a JSON header naming
/// each tensor's dtype, shape and byte range, then the raw little-endian data. Using it means
/// Python tools (`safetensors.numpy.load_file`, `safe_open`) open our files and we open theirs.
/// On top of the format, MetaRec stores two reserved `__metadata__` entries: `metarec.format`,
/// the format version, and `metarec.checksum`, a CRC-32 over the header content and the data,
/// so that a damaged or truncated file is refused instead of silently loading wrong weights.
///
/// ```swift
/// let checkpoint = Checkpoint(
///     tensors: ["layer1.weight": StoredTensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])],
///     metadata: ["config": #"{"hidden": 64}"#])
/// try checkpoint.write(to: URL(fileURLWithPath: "model.safetensors"))
/// let loaded = try Checkpoint(contentsOf: URL(fileURLWithPath: "model.safetensors"))
/// // loaded == checkpoint
/// ```
public struct Checkpoint: Equatable, Sendable {
    public var tensors: [String: StoredTensor]
    /// User metadata, such as the model configuration as JSON. The keys `metarec.format` and
    /// `metarec.checksum` are reserved: the writer sets them and the reader removes them.
    public var metadata: [String: String]

    public init(tensors: [String: StoredTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The MetaRec format version this build writes and the only one it reads.
    public static let formatVersion = "1"

    static let formatKey = "metarec.format"
    static let checksumKey = "metarec.checksum"
    static let metadataKey = "__metadata__"
    /// The reference implementation's limit; a larger header length means a damaged file.
    static let maximumHeaderLength: UInt64 = 100_000_000

    /// The whole file as bytes. The same checkpoint always gives the same bytes: tensors and
    /// metadata are written in sorted order (by UTF-8 bytes).
    ///
    /// Precondition: no tensor is named `__metadata__` and `metadata` does not use the reserved
    /// keys `metarec.format` or `metarec.checksum`.
    public func serialized() -> [UInt8] {
        let (head, data) = encoded()
        return head + data
    }

    /// Writes the checkpoint atomically: to a temporary file in the same directory, flushed to
    /// disk with fsync, then renamed over `url`. Readers therefore see the old file or the new
    /// one, never a partial write; on failure any existing file is untouched and the temporary
    /// file is removed.
    public func write(to url: URL) throws {
        let (head, data) = encoded()
        try AtomicFile.write([head, data], to: url)
    }

    /// The length prefix plus padded header, and the data section, kept apart so that `write`
    /// does not have to concatenate them.
    private func encoded() -> (head: [UInt8], data: [UInt8]) {
        precondition(tensors[Self.metadataKey] == nil, "a tensor cannot be named \(Self.metadataKey)")
        for key in [Self.formatKey, Self.checksumKey] {
            precondition(metadata[key] == nil, "metadata key \(key) is reserved for the checkpoint writer")
        }
        let sorted = tensors.sorted { Self.utf8Order($0.key, $1.key) }
        var entries: [HeaderEntry] = []
        var offset = 0
        for (name, tensor) in sorted {
            let end = offset + 4 * tensor.values.count
            entries.append(HeaderEntry(name: name, dtype: "F32", shape: tensor.shape, begin: offset, end: end))
            offset = end
        }

        var data = [UInt8](repeating: 0, count: offset)
        data.withUnsafeMutableBytes { raw in
            var position = 0
            for (_, tensor) in sorted {
                for value in tensor.values {
                    raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: position, as: UInt32.self)
                    position += 4
                }
            }
        }

        var stored = metadata
        stored[Self.formatKey] = Self.formatVersion
        var crc = CRC32()
        crc.update(Self.canonicalDescription(entries: entries, metadata: stored))
        crc.update(data)
        stored[Self.checksumKey] = crc.hexValue

        let metadataJSON = stored.keys.sorted(by: Self.utf8Order)
            .map { "\(jsonQuoted($0)):\(jsonQuoted(stored[$0] ?? ""))" }
            .joined(separator: ",")
        var json = "{\(jsonQuoted(Self.metadataKey)):{\(metadataJSON)}"
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            json +=
                ",\(jsonQuoted(entry.name)):{\"dtype\":\(jsonQuoted(entry.dtype)),\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(entry.begin),\(entry.end)]}"
        }
        json += "}"

        var header = Array(json.utf8)
        // Pad with spaces so that the data section starts 8-byte aligned, as the reference
        // implementation does (8 + header length is then a multiple of 8).
        header += [UInt8](repeating: 0x20, count: (8 - header.count % 8) % 8)
        var head = [UInt8]()
        head.reserveCapacity(8 + header.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { head += $0 }
        head += header
        return (head, data)
    }

    /// One tensor's header fields, as written or as read back.
    struct HeaderEntry {
        var name: String
        var dtype: String
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Orders strings by their UTF-8 bytes, which unlike `<` (Unicode canonical ordering) is
    /// the same in every language and never equates two different byte strings.
    static func utf8Order(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The header content the checksum covers, independent of JSON formatting: for each tensor
    /// in name order the fields "tensor", name, dtype, shape ("2,3"), begin and end, then for
    /// each metadata key except the checksum in key order the fields "meta", key and value.
    /// Each field is its UTF-8 byte count in decimal, ":", then its bytes, so that no choice of
    /// names can make two different headers describe alike.
    static func canonicalDescription(entries: [HeaderEntry], metadata: [String: String]) -> [UInt8] {
        var bytes: [UInt8] = []
        func field(_ text: String) {
            bytes += Array(String(text.utf8.count).utf8)
            bytes.append(UInt8(ascii: ":"))
            bytes += Array(text.utf8)
        }
        for entry in entries.sorted(by: { utf8Order($0.name, $1.name) }) {
            for text in [
                "tensor", entry.name, entry.dtype, entry.shape.map(String.init).joined(separator: ","),
                String(entry.begin), String(entry.end),
            ] {
                field(text)
            }
        }
        for key in metadata.keys.sorted(by: utf8Order) where key != checksumKey {
            field("meta")
            field(key)
            field(metadata[key] ?? "")
        }
        return bytes
    }
}
