import Foundation
import MetaRecCore

/// The one JSON document `metarec demo --json` and `metarec evaluate --json` write: the protocol's
/// table and whichever studies ran, with the seeds that made them. `metarec report` reads these
/// back to merge seeds.
public struct RunReport: Sendable, Codable {
    /// The split seed; `initialisationSeed` seeded the trainers.
    public var splitSeed: UInt64
    public var initialisationSeed: UInt64
    public var `protocol`: EvaluationReport?
    public var streaming: StreamingReport?
    public var itemWarmUp: ItemWarmUpReport?

    public init(splitSeed: UInt64, initialisationSeed: UInt64, protocol report: EvaluationReport? = nil,
                streaming: StreamingReport? = nil, itemWarmUp: ItemWarmUpReport? = nil) {
        self.splitSeed = splitSeed
        self.initialisationSeed = initialisationSeed
        self.protocol = report
        self.streaming = streaming
        self.itemWarmUp = itemWarmUp
    }

    public func json() throws -> String { try JSONFormat.string(self) }

    /// Writes the report atomically.
    public func write(to url: URL) throws { try JSONFormat.write(self, to: url) }
}
