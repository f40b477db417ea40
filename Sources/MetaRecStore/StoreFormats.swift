import Crypto
import Foundation

extension PublishedModel {
    /// A bundle's version id: the SHA-256 of its bytes in hex, so equal weights mean equal ids.
    public static func identifier(of bytes: Data) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Cryptographically random bytes (for shared secrets).
    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }
}

extension CatalogueChange {
    private struct ItemPayload: Codable {
        var id: String
        var title: String
        var features: Data
        var addedAt: Double
    }

    /// An added item as the change log carries it.
    public static func encode(_ item: StoredItem) throws -> Data {
        try JSONEncoder().encode(
            ItemPayload(
                id: item.id, title: item.title, features: item.features, addedAt: item.addedAt.timeIntervalSince1970))
    }

    /// The item an `.added` change carries.
    public func addedItem() throws -> StoredItem {
        let payload = try JSONDecoder().decode(ItemPayload.self, from: payload)
        return StoredItem(
            id: payload.id, title: payload.title, features: payload.features,
            addedAt: Date(timeIntervalSince1970: payload.addedAt))
    }
}

/// Floats as every store keeps them: little-endian IEEE 754 binary32, 4 bytes each, so a value
/// read back is bit for bit the value written (states, new-item observations).
public enum Float32Bytes {
    public static func encode(_ values: [Float]) -> Data {
        var data = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// The floats `data` holds; nil when its length is not a multiple of 4 (not written here).
    public static func decode(_ data: Data) -> [Float]? {
        guard data.count % 4 == 0 else { return nil }
        let bytes = [UInt8](data)
        return stride(from: 0, to: bytes.count, by: 4).map { i in
            Float(
                bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                    | UInt32(bytes[i + 3]) << 24)
        }
    }
}
