import Foundation

/// One task's full-ranking metrics (Docs/protocol.md, Full ranking): the relevant query items
/// among every candidate of the scenario's item set.
public struct FullRankingScores: Sendable, Equatable {
    public var recallAt10: Double
    public var recallAt20: Double
    public var ndcgAt10: Double
    public var ndcgAt20: Double
    /// 1 / rank of the best-ranked relevant item over the whole list (no cut-off).
    public var reciprocalRank: Double

    public init(recallAt10: Double, recallAt20: Double, ndcgAt10: Double, ndcgAt20: Double, reciprocalRank: Double) {
        self.recallAt10 = recallAt10
        self.recallAt20 = recallAt20
        self.ndcgAt10 = ndcgAt10
        self.ndcgAt20 = ndcgAt20
        self.reciprocalRank = reciprocalRank
    }
}

/// Full-ranking metrics over one task's candidates. Candidates are ordered by score, higher
/// first; ties (and NaN, which ranks last) keep the candidates' given order, so a caller that
/// shuffles the candidates gives ties a random order, and a constant scorer is the random floor.
/// Only the top 20 are selected (partial selection, O(n) for n candidates), never a full sort:
/// every method scores about 1,300 candidates per task.
public enum FullRanking {
    public static let cutoffs = [10, 20]

    /// Whether candidate `a` (score `sa`) ranks above candidate `b`: higher score, NaN last, then
    /// the earlier position.
    @inline(__always)
    static func above(_ sa: Float, _ a: Int, _ sb: Float, _ b: Int) -> Bool {
        if sa.isNaN || sb.isNaN {
            if sa.isNaN && sb.isNaN { return a < b }
            return sb.isNaN
        }
        return sa > sb || (sa == sb && a < b)
    }

    /// The positions of the `k` best-ranked scores, best first: a bounded insertion buffer, so
    /// each candidate past the first k costs one comparison unless it enters the top k.
    public static func top(_ scores: [Float], k: Int) -> [Int] {
        let k = min(max(k, 0), scores.count)
        guard k > 0 else { return [] }
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        for index in scores.indices {
            let score = scores[index]
            if best.count == k {
                let last = best[k - 1]
                guard above(score, index, scores[last], last) else { continue }
                best.removeLast()
            }
            var slot = best.count
            while slot > 0 && above(score, index, scores[best[slot - 1]], best[slot - 1]) { slot -= 1 }
            best.insert(index, at: slot)
        }
        return best
    }

    /// The 1-based rank of `position` among all `scores`: one plus the candidates ranked above it.
    public static func rank(of position: Int, in scores: [Float]) -> Int {
        let score = scores[position]
        var above = 0
        for index in scores.indices where index != position && Self.above(scores[index], index, score, position) {
            above += 1
        }
        return above + 1
    }

    /// Recall@10/20 (relevant items in the top K over all relevant items), nDCG@10/20 with binary
    /// gain (ideal: min(K, relevant) hits at the top), and the reciprocal rank of the first
    /// relevant item. Nil without a relevant candidate (the protocol counts such tasks and leaves
    /// them out) or when `relevant` and `scores` differ in length (bad input never traps).
    public static func metrics(scores: [Float], relevant: [Bool]) -> FullRankingScores? {
        guard scores.count == relevant.count else { return nil }
        let total = relevant.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard total > 0 else { return nil }
        let ranked = top(scores, k: cutoffs.max() ?? 20)
        func recall(_ k: Int) -> Double {
            Double(ranked.prefix(k).filter { relevant[$0] }.count) / Double(total)
        }
        func ndcg(_ k: Int) -> Double {
            var dcg = 0.0
            for (offset, index) in ranked.prefix(k).enumerated() where relevant[index] {
                dcg += 1 / Foundation.log2(Double(offset) + 2)
            }
            let ideal = (0..<min(k, total)).reduce(0.0) { $0 + 1 / Foundation.log2(Double($1) + 2) }
            return dcg / ideal
        }
        // The best-ranked relevant item: from the top 20 when it is there, else by counting.
        let firstRank: Int
        if let offset = ranked.firstIndex(where: { relevant[$0] }) {
            firstRank = offset + 1
        } else {
            var best: Int?
            for index in relevant.indices where relevant[index] {
                if let current = best, !above(scores[index], index, scores[current], current) { continue }
                best = index
            }
            firstRank = rank(of: best!, in: scores)
        }
        return FullRankingScores(
            recallAt10: recall(10), recallAt20: recall(20), ndcgAt10: ndcg(10), ndcgAt20: ndcg(20),
            reciprocalRank: 1 / Double(firstRank))
    }
}
