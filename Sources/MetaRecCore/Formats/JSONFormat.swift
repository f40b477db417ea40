import Foundation

/// The one JSON configuration of every file MetaRec writes (reports, manifests, model headers):
/// sorted keys so that the same value always gives the same bytes, pretty-printed for people,
/// and no special float strategy, so a NaN or an infinity fails loudly instead of becoming
/// invalid JSON: an undefined metric is encoded as `null` with a reason by its own type.
public enum JSONFormat {
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return encoder
    }

    public static func decoder() -> JSONDecoder { JSONDecoder() }

    /// `value` as JSON text.
    public static func string<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        String(decoding: try encoder(pretty: pretty).encode(value), as: UTF8.self)
    }

    /// Writes `value` as JSON to `url`, atomically: readers see the old file or the new one.
    public static func write<T: Encodable>(_ value: T, to url: URL) throws {
        try AtomicFile.write([Array(encoder().encode(value)) + [0x0A]], to: url)
    }
}
