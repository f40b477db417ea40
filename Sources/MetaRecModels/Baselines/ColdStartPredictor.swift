import MetaRecCore
import MetaRecData

/// Anything that, given a task's support rows, scores its query rows: every learner and every
/// baseline of the protocol's tables.
public protocol ColdStartPredictor: Sendable {
    /// The row name in result tables.
    var name: String { get }
    /// Scores for `task`'s query rows (ratings, or click probabilities) after using its support rows.
    func predict(_ task: PreparedTask) -> [Float]
}

extension MetaLearner: ColdStartPredictor {
    public var name: String {
        let base = options.learnsInnerRates ? "Meta-SGD" : (options.order == .second ? "MAML" : "first-order MAML")
        let start = options.startsFromPretrained ? ", from pretrained" : ""
        let ranking = options.ranking.map { $0.objective == .pointwise ? "" : ", \($0.objective.rawValue) loss" } ?? ""
        return "\(base) (\(options.adaptation.partition), \(options.adaptation.steps) steps\(start)\(ranking))"
    }
}

/// The mean of every training rating (or the training click rate).
public struct GlobalMean: ColdStartPredictor {
    public let name = "global mean"
    public let mean: Float

    public init(training: [Interaction]) {
        mean = training.isEmpty ? 0 : Float(training.reduce(0.0) { $0 + Double($1.value) } / Double(training.count))
    }

    public func predict(_ task: PreparedTask) -> [Float] { .init(repeating: mean, count: task.queryCount) }
}

/// The mean of the task's own support ratings; the global mean when the support is empty.
public struct UserMean: ColdStartPredictor {
    public let name = "user mean"
    public let fallback: Float

    public init(fallback: Float) { self.fallback = fallback }

    public func predict(_ task: PreparedTask) -> [Float] {
        let support = task.supportTargets.values
        let mean = support.isEmpty ? fallback : support.reduce(0, +) / Float(support.count)
        return .init(repeating: mean, count: task.queryCount)
    }
}

/// Each item's mean training rating; the global mean for items training never saw (new items).
public struct ItemMean: ColdStartPredictor {
    public let name = "item mean"
    public let means: [Int32: Float]
    public let fallback: Float

    public init(training: [Interaction]) {
        var sums: [Int32: (Double, Int)] = [:]
        for rating in training {
            sums[rating.item, default: (0, 0)].0 += Double(rating.value)
            sums[rating.item]!.1 += 1
        }
        means = sums.mapValues { Float($0.0 / Double($0.1)) }
        fallback = GlobalMean(training: training).mean
    }

    public func predict(_ task: PreparedTask) -> [Float] { task.queryItemIDs.map { means[$0] ?? fallback } }
}
