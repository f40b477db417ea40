import MetaRecCore
import MetaRecData

/// Scores a task's full-ranking candidates (Docs/protocol.md, Full ranking) from its support
/// (and, where the scenario has one, the user's known history); the query is never read. The
/// baselines of this folder are scorers only: they rank items but predict no rating.
public protocol CandidateScorer: Sendable {
    var name: String { get }
    /// One score per candidate, higher first.
    func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float]
}

/// A method of the protocol's tables ranking the whole item set: the task's query replaced by the
/// candidates, so the method adapts on the support as for its own query and then scores every
/// candidate in one batch (the network's matrix products over all candidate rows at once).
public struct PredictorScorer: CandidateScorer {
    public let predictor: ColdStartPredictor
    public let features: FeatureContext

    public init(_ predictor: ColdStartPredictor, features: FeatureContext) {
        self.predictor = predictor
        self.features = features
    }

    public var name: String { predictor.name }

    public func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] {
        guard !candidates.isEmpty else { return [] }
        let scores = predictor.predict(task.replacingQuery(with: candidates, features: features))
        // A method that returned the wrong count ranks nothing rather than trapping.
        return scores.count == candidates.count ? scores : [Float](repeating: .nan, count: candidates.count)
    }
}

extension PreparedTask {
    /// The task with `items` as its query (targets zero and never read): how a method scores
    /// candidates with the support, user and history of the task unchanged.
    public func replacingQuery(with items: [Int32], features: FeatureContext) -> PreparedTask {
        var copy = self
        copy.queryItemIDs = items
        copy.queryItems = EntityBatch(features.items, entities: items)
        copy.queryTargets = Tensor.zeros([items.count, 1])
        return copy
    }
}

/// The same score for every candidate: with candidates in a seeded random order, the random floor
/// of the full-ranking table.
public struct ConstantScorer: CandidateScorer {
    public let name = "random order"
    public init() {}
    public func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] {
        [Float](repeating: 0, count: candidates.count)
    }
}
