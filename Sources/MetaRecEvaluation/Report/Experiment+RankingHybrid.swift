import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// What was chosen on validation users for full ranking (issue 21, part 3): the best adaptive
/// method and the hybrid's weights, once for existing items (validation users) and once for new
/// items (validation users meeting new items). The test tasks are never read.
public struct RankingHybridChoice: Sendable {
    /// One side's choice: the method scorer kept, the hybrid's components and weights.
    public struct Side: Sendable {
        public var method: CandidateScorer
        public var methodRecall: Double
        public var weights: [Float]
        public var hybridRecall: Double
        /// The second component of the hybrid: EASE (or ItemKNN) for existing items, content KNN for new ones.
        public var itemSignal: CandidateScorer
    }
    public var existingItems: Side?
    public var newItems: Side?

    public static let rowName = "hybrid (best adaptive method + item-item + popularity prior)"

    /// The hybrid row's scorer for a test scenario: the side of its item set, popularity counted
    /// in the scenario's own tasks as for the popularity row.
    public func scorer(for scenario: Scenario, popularity: Popularity) -> CandidateScorer? {
        guard let side = scenario.usesNewItems ? newItems : existingItems else { return nil }
        return HybridScorer(
            name: Self.rowName, components: [side.method, side.itemSignal, PopularityPrior(popularity)],
            weights: side.weights)
    }

    /// A line for the report's notes.
    public var summary: String {
        func describe(_ side: Side?, _ label: String) -> String {
            guard let side else { return "\(label): none" }
            let weights = side.weights.map { String(format: "%.2f", $0) }.joined(separator: ", ")
            return "\(label): \(side.method.name) (validation recall@20 \(String(format: "%.4f", side.methodRecall))), "
                + "weights (method, \(side.itemSignal.name), popularity prior) = (\(weights)), hybrid validation recall@20 \(String(format: "%.4f", side.hybridRecall))"
        }
        return "Hybrid chosen on validation users: " + describe(existingItems, "existing items") + "; "
            + describe(newItems, "new items")
    }
}

extension Experiment {
    /// The meta-learned methods among `methods` (all but the mean baselines and the pretrained or
    /// fine-tuned network, which are not meta-learned), each as a full-ranking scorer; the
    /// covariance head also with its mean plus 0.5, 1 or 2 predictive sd.
    func adaptiveRankingScorers(_ methods: [ColdStartPredictor]) -> [CandidateScorer] {
        methods.flatMap { method -> [CandidateScorer] in
            if method is GlobalMean || method is UserMean || method is ItemMean || method is PretrainedNetwork {
                return []
            }
            if let head = method as? CovarianceHead {
                return [0, 0.5, 1, 2].map { MeanPlusSpreadScorer(head, features: features, spread: $0) }
            }
            return [PredictorScorer(method, features: features)]
        }
    }

    /// Chooses, on validation users only, the best adaptive method by full-ranking recall@20 and
    /// the weights of its hybrid with an item-item signal and a popularity prior
    /// (``HybridScorer/choose(name:components:grid:validation:threads:)``).
    public func chooseRankingHybrid(
        methods: [ColdStartPredictor], baselines: RankingBaselines, candidates: RankingCandidates,
        grid: [[Float]] = HybridScorer.defaultGrid, log: ((String) -> Void)? = nil
    ) -> RankingHybridChoice {
        let scorers = adaptiveRankingScorers(methods)
        var choice = RankingHybridChoice()
        guard !scorers.isEmpty else { return choice }
        let sides: [(Scenario, [PreparedTask], CandidateScorer)] = [
            (.validation, validation, baselines.ease ?? baselines.itemKNN),
            (.itemColdValidation, itemColdValidation, baselines.content),
        ]
        for (scenario, prepared, itemSignal) in sides {
            let protocolTasks = split.tasks(scenario)
            let tasks = FullRankingTasks(
                tasks: protocolTasks, prepared: prepared, candidates: candidates, relevantAt: relevantAt, seed: seed)
            guard !tasks.tasks.isEmpty, tasks.tasksWithoutRelevant < tasks.tasks.count else { continue }
            log?("choosing the ranking hybrid on \(scenario.rawValue)")
            var best: (CandidateScorer, Double)?
            for scorer in scorers {
                let recall = tasks.meanRecallAt20(scorer, threads: threads)
                if recall.isFinite && (best == nil || recall > best!.1) { best = (scorer, recall) }
            }
            guard let best else { continue }
            let (method, methodRecall) = best
            let popularity = Popularity(
                warm: split.warmInteractions, supports: protocolTasks.flatMap(\.support), isNewItem: split.isNewItem)
            let (hybrid, recalls) = HybridScorer.choose(
                name: RankingHybridChoice.rowName, components: [method, itemSignal, PopularityPrior(popularity)],
                grid: grid, validation: tasks, threads: threads)
            let chosen = RankingHybridChoice.Side(
                method: method, methodRecall: methodRecall, weights: hybrid.weights,
                hybridRecall: recalls.filter(\.isFinite).max() ?? .nan, itemSignal: itemSignal)
            if scenario.usesNewItems { choice.newItems = chosen } else { choice.existingItems = chosen }
        }
        return choice
    }
}
