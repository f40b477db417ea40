import Foundation

/// Everything one run of `metarec evaluate` (or `demo`) reports for one split seed: the protocol's
/// table and, when they were run, the streaming and item warm-up studies. Its JSON is the file
/// `--json` writes: `{"protocol": …, "streaming": …, "itemWarmUp": …}`; a bare protocol report
/// (as `demo --json` writes) is read as a bundle holding only the table.
public struct ReportBundle: Sendable, Codable {
    public var `protocol`: EvaluationReport?
    public var streaming: StreamingReport?
    public var itemWarmUp: ItemWarmUpReport?

    public init(protocol table: EvaluationReport? = nil, streaming: StreamingReport? = nil, itemWarmUp: ItemWarmUpReport? = nil) {
        self.protocol = table
        self.streaming = streaming
        self.itemWarmUp = itemWarmUp
    }

    /// The data set the bundle's reports are about.
    public var dataset: String? { self.protocol?.dataset ?? streaming?.dataset ?? itemWarmUp?.dataset }
    /// The split seed of the bundle's reports.
    public var seed: UInt64? { self.protocol?.seed ?? streaming?.seed ?? itemWarmUp?.seed }

    /// Reads a report written by `metarec evaluate --json` or `metarec demo --json`.
    /// - Throws: `ReportFileError` naming the file and what was wrong with it.
    public init(contentsOf url: URL) throws(ReportFileError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ReportFileError(file: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        let decoder = ReportJSON.decoder()
        if let bundle = try? decoder.decode(ReportBundle.self, from: data),
           bundle.protocol != nil || bundle.streaming != nil || bundle.itemWarmUp != nil {
            self = bundle
            return
        }
        do {
            self.init(protocol: try decoder.decode(EvaluationReport.self, from: data))
        } catch {
            throw ReportFileError(file: url.path, reason: Self.describe(error))
        }
    }

    /// The bundle as the JSON `--json` writes, keys sorted.
    public func json() throws -> String {
        String(decoding: try ReportJSON.encoder().encode(self), as: UTF8.self)
    }

    private static func describe(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty ? "the top level" : "'" + keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error as? DecodingError {
        case .dataCorrupted(let context)?:
            return "is not valid JSON at \(path(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context)?:
            return "lacks the field '\(key.stringValue)' at \(path(context.codingPath)); expected a report written by 'metarec evaluate --json' or 'metarec demo --json'"
        case .typeMismatch(let type, let context)?, .valueNotFound(let type, let context)?:
            return "has a wrong value at \(path(context.codingPath)): expected \(type)"
        default:
            return "is not a MetaRec report (\(error))"
        }
    }
}

/// A report file that cannot be used, and why.
public struct ReportFileError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String
    public var description: String { "\(file) \(reason)" }
}

/// The JSON coding of every report: keys sorted, and a metric that is undefined for a run (NaN,
/// e.g. nDCG of tasks with no positive) written as the string "nan" instead of failing the
/// whole report, since JSON has no NaN.
public enum ReportJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
