import Foundation

/// The one JSON configuration of every file MetaRec writes (reports, manifests, model headers):
/// sorted keys so that the same value always gives the same bytes, pretty-printed for people.
/// A non-finite number (a study's median of nothing, a metric with no task to average) is
/// written as `null`, never as an encoding failure at the end of a long run; types whose
/// metrics can be undefined say why beside them. Files from builds that wrote "nan" read back.
public enum JSONFormat {
    /// A marker no real text holds, written in place of a non-finite number and then replaced.
    static let nonFiniteMarker = "metarec.non-finite.value"

    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFiniteMarker, negativeInfinity: nonFiniteMarker, nan: nonFiniteMarker)
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// `value` as JSON text.
    public static func string<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        String(decoding: try encoder(pretty: pretty).encode(value), as: UTF8.self)
            .replacingOccurrences(of: "\"\(nonFiniteMarker)\"", with: "null")
    }

    /// Writes `value` as JSON to `url`, atomically: readers see the old file or the new one.
    public static func write<T: Encodable>(_ value: T, to url: URL) throws {
        try AtomicFile.write([Array(try string(value).utf8) + [0x0A]], to: url)
    }
}
