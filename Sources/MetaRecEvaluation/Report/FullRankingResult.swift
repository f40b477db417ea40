import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Full-ranking metrics of one method on one scenario (Docs/protocol.md, Full ranking), averaged
/// over the tasks with a relevant query item; the others are counted and left out.
public struct FullRankingResult: Sendable, Codable, Equatable {
    /// Tasks scored, and tasks left out for want of a relevant query item.
    public var tasks: Int
    public var tasksWithoutRelevant: Int
    /// Mean number of candidates per scored task.
    public var meanCandidates: Double
    public var recallAt10: Double
    public var recallAt20: Double
    public var ndcgAt10: Double
    public var ndcgAt20: Double
    public var mrr: Double

    /// Nil when no task has a relevant item (so a report never holds NaN).
    public init?(scores: [FullRankingScores?], candidates: [[Int32]]) {
        let kept = scores.indices.compactMap { index in scores[index].map { (index, $0) } }
        guard !kept.isEmpty else { return nil }
        let n = Double(kept.count)
        func mean(_ value: (FullRankingScores) -> Double) -> Double { kept.reduce(0) { $0 + value($1.1) } / n }
        tasks = kept.count
        tasksWithoutRelevant = scores.count - kept.count
        meanCandidates =
            kept.reduce(0.0) { $0 + Double(candidates.indices.contains($1.0) ? candidates[$1.0].count : 0) } / n
        recallAt10 = mean(\.recallAt10)
        recallAt20 = mean(\.recallAt20)
        ndcgAt10 = mean(\.ndcgAt10)
        ndcgAt20 = mean(\.ndcgAt20)
        mrr = mean(\.reciprocalRank)
    }

    public init(
        tasks: Int, tasksWithoutRelevant: Int, meanCandidates: Double, recallAt10: Double, recallAt20: Double,
        ndcgAt10: Double, ndcgAt20: Double, mrr: Double
    ) {
        self.tasks = tasks
        self.tasksWithoutRelevant = tasksWithoutRelevant
        self.meanCandidates = meanCandidates
        self.recallAt10 = recallAt10
        self.recallAt20 = recallAt20
        self.ndcgAt10 = ndcgAt10
        self.ndcgAt20 = ndcgAt20
        self.mrr = mrr
    }

    /// The five metrics in table order, with their column names.
    public static let columns = ["R@10", "R@20", "nDCG@10", "nDCG@20", "MRR"]
    public var values: [Double] { [recallAt10, recallAt20, ndcgAt10, ndcgAt20, mrr] }
}

/// A full-ranking baseline's row: it ranks items but predicts no rating, so it has no place in the
/// rating tables.
public struct RankingBaselineReport: Sendable, Codable {
    public var name: String
    public var scenarios: [String: FullRankingResult]
    public var seconds: Double
    /// User-cold full ranking with the K earliest support ratings, keyed by K (as
    /// ``MethodReport/fullRankingFewShot``); nil in reports written before it.
    public var fewShot: [String: FullRankingResult]?

    public init(name: String, scenarios: [String: FullRankingResult], seconds: Double) {
        self.name = name
        self.scenarios = scenarios
        self.seconds = seconds
    }
}

extension FullRankingTasks {
    /// The scenario result of `scorer` on these tasks.
    public func result(_ scorer: CandidateScorer, threads: Int) -> FullRankingResult? {
        FullRankingResult(scores: scores(scorer, threads: threads), candidates: candidates)
    }
}
