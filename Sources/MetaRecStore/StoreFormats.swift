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
