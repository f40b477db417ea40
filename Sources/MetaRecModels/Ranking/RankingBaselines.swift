import Foundation
import MetaRecCore
import MetaRecData

/// A scenario's tasks made ready for full ranking: each task's candidates in a seeded random order
/// (so that tied scores, and a constant scorer, rank at random) and which of them are relevant
/// (query items at or above `relevantAt`). Shared by model selection (EASE's λ on validation
/// users) and the test tables.
public struct FullRankingTasks: Sendable {
    public let tasks: [PreparedTask]
    public let candidates: [[Int32]]
    public let relevant: [[Bool]]

    /// - Parameters:
    ///   - tasks: the scenario's protocol tasks, in the order of `prepared`.
    ///   - relevantAt: a query target at or above it is relevant (4 on a rating scale, 0.5 for clicks).
    public init(
        tasks: [ProtocolTask], prepared: [PreparedTask], candidates rule: RankingCandidates, relevantAt: Float,
        seed: UInt64
    ) {
        let count = min(tasks.count, prepared.count)
        let root = SeededGenerator(seed: seed)
        var candidates: [[Int32]] = []
        var relevant: [[Bool]] = []
        for index in 0..<count {
            let task = tasks[index]
            var items = rule.candidates(for: task)
            var random = root.derived("full-ranking/\(task.scenario.rawValue)/\(task.user)")
            random.shuffle(&items)
            let liked = Set(task.query.filter { $0.value >= relevantAt }.map(\.item))
            candidates.append(items)
            relevant.append(items.map { liked.contains($0) })
        }
        self.tasks = Array(prepared.prefix(count))
        self.candidates = candidates
        self.relevant = relevant
    }

    /// Tasks whose candidates and relevant flags are given as they are (hand-made worlds).
    init(tasks: [PreparedTask], candidates: [[Int32]], relevant: [[Bool]]) {
        precondition(tasks.count == candidates.count && tasks.count == relevant.count, "one list per task")
        self.tasks = tasks
        self.candidates = candidates
        self.relevant = relevant
    }

    /// Each task's metrics under `scorer`; nil for a task without a relevant candidate.
    public func scores(_ scorer: CandidateScorer, threads: Int) -> [FullRankingScores?] {
        Parallel.map(Array(tasks.indices), workers: threads) { index in
            let scores = scorer.scores(tasks[index], candidates: candidates[index])
            return FullRanking.metrics(scores: scores, relevant: relevant[index])
        }
    }

    /// Mean recall@20 over tasks with a relevant item: what EASE's λ is chosen by. NaN without one.
    public func meanRecallAt20(_ scorer: CandidateScorer, threads: Int) -> Double {
        let kept = scores(scorer, threads: threads).compactMap { $0 }
        return kept.isEmpty ? .nan : kept.reduce(0) { $0 + $1.recallAt20 } / Double(kept.count)
    }

    /// Tasks without a relevant candidate: counted and left out.
    public var tasksWithoutRelevant: Int { relevant.filter { !$0.contains(true) }.count }
}

/// The protocol's non-meta full-ranking baselines (Docs/protocol.md, Full ranking), fitted on warm
/// ratings only; EASE's λ is chosen on validation users by recall@20, never on test users.
public struct RankingBaselines: Sendable {
    public let itemKNN: ItemItemScorer
    public let ease: ItemItemScorer?
    /// The λ chosen for EASE.
    public let easeRidge: Float?
    /// EASE's λ grid and the validation recall@20 of each (NaN where it could not be fitted).
    public let easeGrid: [Float]
    public let easeValidationRecall: [Double]
    public let content: ContentKNN
    let warm: [Interaction]
    let isNewItem: [Bool]

    public init(
        warm: [Interaction], isNewItem: [Bool], itemFeatures: FeatureTable, likedAt: Float,
        validation: FullRankingTasks?, grid: [Float] = EASE.ridgeGrid, threads: Int
    ) {
        self.warm = warm
        self.isNewItem = isNewItem
        let cooccurrence = ItemCooccurrence(warm: warm)
        itemKNN = ItemKNN.fit(cooccurrence)
        content = ContentKNN(items: itemFeatures, likedAt: likedAt)
        var best: (score: Double, model: ItemItemScorer, lambda: Float)?
        var recalls: [Double] = []
        for lambda in grid {
            guard let model = EASE.fit(cooccurrence, ridge: lambda) else {
                recalls.append(.nan)
                continue
            }
            // Without validation tasks the first λ that fits is kept (a score of 0 for all).
            let recall = validation.map { $0.meanRecallAt20(model, threads: threads) } ?? 0
            recalls.append(recall)
            if best == nil || (recall.isFinite && !(best!.score >= recall)) { best = (recall, model, lambda) }
        }
        ease = best?.model
        easeRidge = best?.lambda
        easeGrid = grid
        easeValidationRecall = recalls
    }

    /// The baselines for one scenario, given its tasks: popularity counts the support ratings of
    /// these tasks for new items.
    public func scorers(for tasks: [ProtocolTask]) -> [CandidateScorer] {
        let popularity = Popularity(warm: warm, supports: tasks.flatMap(\.support), isNewItem: isNewItem)
        return [popularity, itemKNN] + (ease.map { [$0] } ?? []) + [content]
    }

    /// How λ was chosen, for the report's notes.
    public var easeSummary: String {
        let pairs = zip(easeGrid, easeValidationRecall).map {
            "\(EASE.formatRidge($0.0)): \($0.1.isFinite ? String(format: "%.4f", $0.1) : "n/a")"
        }
        return
            "EASE λ by validation recall@20 (\(pairs.joined(separator: ", "))); chose \(easeRidge.map(EASE.formatRidge) ?? "none (G + λI could not be factored)")"
    }
}

extension Experiment {
    /// The relevance threshold of full ranking: a click, or a rating of at least 4.
    public var relevantAt: Float { objective == .click ? 0.5 : 4 }

    /// The candidate rule over this data set's whole log.
    public func rankingCandidates() -> RankingCandidates { RankingCandidates(split: split, dataset: dataset) }

    /// The full-ranking baselines, fitted on warm ratings, EASE's λ chosen on validation users.
    public func fitRankingBaselines(candidates: RankingCandidates? = nil) -> RankingBaselines {
        let rule = candidates ?? rankingCandidates()
        let tasks = FullRankingTasks(
            tasks: split.tasks(.validation), prepared: validation, candidates: rule, relevantAt: relevantAt,
            seed: seed)
        return RankingBaselines(
            warm: split.warmInteractions, isNewItem: split.isNewItem, itemFeatures: split.itemFeatures,
            likedAt: relevantAt, validation: tasks.tasks.isEmpty ? nil : tasks, threads: threads)
    }
}
