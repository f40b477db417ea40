import Foundation

/// The one JSON configuration of every file MetaRec writes (reports, manifests, model headers):
/// sorted keys so that the same value always gives the same bytes, pretty-printed for people.
/// A metric that can be undefined is written as `null` with a reason by its own type; any other
/// non-finite number is written as the string "nan", "inf" or "-inf" (and read back), so that a
/// report never fails to be written at the end of a long run.
public enum JSONFormat {
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// `value` as JSON text.
    public static func string<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        String(decoding: try encoder(pretty: pretty).encode(value), as: UTF8.self)
    }

    /// Writes `value` as JSON to `url`, atomically: readers see the old file or the new one.
    public static func write<T: Encodable>(_ value: T, to url: URL) throws {
        try AtomicFile.write([Array(encoder().encode(value)) + [0x0A]], to: url)
    }
}
