import Foundation
import MetaRecCore

/// Everything one run of `metarec evaluate` (or `demo`) reports for one split seed: the protocol's
/// table and, when they were run, the streaming and item warm-up studies. Its JSON is the file
/// `--json` writes: `{"protocol": …, "streaming": …, "itemWarmUp": …}`; a bare protocol report
/// (as `demo --json` writes) is read as a bundle holding only the table.
public struct ReportBundle: Sendable, Codable {
    /// The split seed, and the seed that initialised the trainers (nil in files written before
    /// they were recorded).
    public var splitSeed: UInt64?
    public var initialisationSeed: UInt64?
    public var `protocol`: EvaluationReport?
    public var streaming: StreamingReport?
    public var itemWarmUp: ItemWarmUpReport?
    /// `metarec evaluate --exploration-replay`.
    public var exploration: ExplorationReplayReport?

    public init(
        splitSeed: UInt64? = nil, initialisationSeed: UInt64? = nil, protocol table: EvaluationReport? = nil,
        streaming: StreamingReport? = nil, itemWarmUp: ItemWarmUpReport? = nil
    ) {
        self.splitSeed = splitSeed
        self.initialisationSeed = initialisationSeed
        self.protocol = table
        self.streaming = streaming
        self.itemWarmUp = itemWarmUp
    }

    /// Writes the bundle as JSON, atomically.
    public func write(to url: URL) throws { try JSONFormat.write(self, to: url) }

    /// The data set the bundle's reports are about.
    public var dataset: String? {
        self.protocol?.dataset ?? streaming?.dataset ?? itemWarmUp?.dataset ?? exploration?.dataset
    }
    /// The split seed of the bundle's reports.
    public var seed: UInt64? { self.protocol?.seed ?? streaming?.seed ?? itemWarmUp?.seed ?? exploration?.seed }

    /// Reads a report written by `metarec evaluate --json` or `metarec demo --json`.
    /// - Throws: `ReportFileError` naming the file and what was wrong with it.
    public init(contentsOf url: URL) throws(ReportFileError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ReportFileError(file: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        let decoder = JSONFormat.decoder()
        do {
            let bundle = try decoder.decode(ReportBundle.self, from: data)
            if bundle.protocol != nil || bundle.streaming != nil || bundle.itemWarmUp != nil
                || bundle.exploration != nil
            {
                self = bundle
                return
            }
        } catch {
            // A bundle's own fault is the one to name, not that it is no bare table either.
            let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            if let top, !Set(top.keys).isDisjoint(with: ["protocol", "streaming", "itemWarmUp", "exploration"]) {
                throw ReportFileError(file: url.path, reason: Self.describe(error))
            }
        }
        do {
            self.init(protocol: try decoder.decode(EvaluationReport.self, from: data))
        } catch {
            throw ReportFileError(file: url.path, reason: Self.describe(error))
        }
    }

    /// The bundle as the JSON `--json` writes, keys sorted.
    public func json() throws -> String {
        try JSONFormat.string(self)
    }

    private static func describe(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.isEmpty
                ? "the top level"
                : "'" + keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error as? DecodingError {
        case .dataCorrupted(let context)?:
            return "is not valid JSON at \(path(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context)?:
            return
                "lacks the field '\(key.stringValue)' at \(path(context.codingPath)); expected a report written by 'metarec evaluate --json' or 'metarec demo --json'"
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
