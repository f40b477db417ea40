import Foundation
import MetaRecCore
import MetaRecData

/// A popularity prior on the item side: log(1 + count), so that a ranking mixed from it and a
/// model's scores is not dominated by the few blockbusters (counts span three orders of magnitude).
public struct PopularityPrior: CandidateScorer {
    public let name = "popularity prior"
    public let popularity: Popularity

    public init(_ popularity: Popularity) { self.popularity = popularity }

    public func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] {
        popularity.scores(task, candidates: candidates).map { Foundation.log1p(Swift.max(0, $0)) }
    }
}

/// The covariance head's score for ranking: the posterior predictive mean plus `spread` predictive
/// standard deviations (an optimistic, upper-confidence score; 0 is the mean alone).
public struct MeanPlusSpreadScorer: CandidateScorer {
    public let head: CovarianceHead
    public let features: FeatureContext
    public let spread: Float

    public init(_ head: CovarianceHead, features: FeatureContext, spread: Float) {
        self.head = head
        self.features = features
        self.spread = spread
    }

    public var name: String { spread == 0 ? head.name : "\(head.name), mean + \(spread) sd" }

    public func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] {
        guard !candidates.isEmpty else { return [] }
        let (means, variances) = head.predictWithUncertainty(task.replacingQuery(with: candidates, features: features))
        guard means.count == candidates.count else { return [Float](repeating: .nan, count: candidates.count) }
        return zip(means, variances).map { $0 + spread * Swift.max(0, $1).squareRoot() }
    }
}

/// A weighted sum of component scorers, each standardised over the task's candidates (z-scores,
/// so that a predicted rating, an EASE score and a log count are on one scale): a meta-learner
/// mixed with an item-item signal from the user's support and a popularity prior.
public struct HybridScorer: CandidateScorer {
    public let name: String
    public let components: [CandidateScorer]
    public let weights: [Float]

    public init(name: String, components: [CandidateScorer], weights: [Float]) {
        precondition(components.count == weights.count, "one weight per component")
        self.name = name
        self.components = components
        self.weights = weights
    }

    public func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] {
        let parts = zip(components, weights).map { component, weight in
            weight == 0 ? nil : Self.standardised(component.scores(task, candidates: candidates))
        }
        return Self.mix(parts, weights: weights, count: candidates.count)
    }

    /// z-scores of `scores` (NaN counts as the lowest score seen; a constant list is all zeros).
    public static func standardised(_ scores: [Float]) -> [Float] {
        let finite = scores.filter(\.isFinite)
        guard !finite.isEmpty else { return [Float](repeating: 0, count: scores.count) }
        let lowest = finite.min()!
        let filled = scores.map { $0.isFinite ? $0 : lowest }
        let n = Double(filled.count)
        let mean = filled.reduce(0.0) { $0 + Double($1) } / n
        let variance = filled.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        guard variance > 1e-12 else { return [Float](repeating: 0, count: scores.count) }
        let scale = 1 / variance.squareRoot()
        return filled.map { Float((Double($0) - mean) * scale) }
    }

    /// Σ weight · part over the parts present (a nil part has weight 0).
    static func mix(_ parts: [[Float]?], weights: [Float], count: Int) -> [Float] {
        var total = [Float](repeating: 0, count: count)
        for (part, weight) in zip(parts, weights) {
            guard let part, part.count == count else { continue }
            for i in 0..<count { total[i] += weight * part[i] }
        }
        return total
    }

    /// The weights of `grid` (one weight per component each) with the best mean recall@20 on
    /// `validation` (validation users only: the test tasks are never read), ties to the earlier
    /// entry. Each component scores each validation task once; the grid only re-mixes.
    /// - Returns: the scorer and each grid entry's validation recall@20 (NaN without a relevant task).
    public static func choose(
        name: String, components: [CandidateScorer], grid: [[Float]], validation: FullRankingTasks, threads: Int
    ) -> (scorer: HybridScorer, validationRecall: [Double]) {
        precondition(
            !grid.isEmpty && grid.allSatisfy { $0.count == components.count },
            "grid entries need one weight per component")
        let indices = Array(validation.tasks.indices)
        let parts: [[[Float]]] = Parallel.map(indices, workers: threads) { index in
            components.map {
                standardised($0.scores(validation.tasks[index], candidates: validation.candidates[index]))
            }
        }
        let recalls = grid.map { weights -> Double in
            var total = 0.0
            var count = 0
            for index in indices {
                let scores = mix(parts[index], weights: weights, count: validation.candidates[index].count)
                if let metrics = FullRanking.metrics(scores: scores, relevant: validation.relevant[index]) {
                    total += metrics.recallAt20
                    count += 1
                }
            }
            return count == 0 ? .nan : total / Double(count)
        }
        var best = 0
        for (slot, recall) in recalls.enumerated() where recall.isFinite && !(recalls[best] >= recall) { best = slot }
        return (HybridScorer(name: name, components: components, weights: grid[best]), recalls)
    }

    /// Weights (method, item-item, popularity prior): the method's share from 0 to 1 against the
    /// item-item signal, with a popularity prior from 0 to 4 beside them (at 4 popularity all but
    /// decides, the popularity row's ranking with the others breaking its ties).
    public static let defaultGrid: [[Float]] = {
        var grid: [[Float]] = []
        for prior: Float in [0, 0.25, 0.5, 1, 2, 4] {
            for step in 0...10 {
                let method = Float(step) / 10
                grid.append([method, 1 - method, prior])
            }
        }
        return grid
    }()
}
