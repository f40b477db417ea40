import Foundation
import MetaRecCore
import Testing

@testable import MetaRecModels

/// Full-ranking metrics on hand-made rankings, each value worked out by hand in the comments.
@Suite struct FullRankingMetricsTests {
    /// 25 candidates whose score falls with their position, so candidate i is ranked i + 1.
    let descending: [Float] = (0..<25).map { Float(25 - $0) }

    func relevant(_ positions: [Int], count: Int = 25) -> [Bool] {
        (0..<count).map { positions.contains($0) }
    }

    /// Relevant at ranks 1, 3, 15 and 22 (4 relevant):
    /// recall@10 = 2/4, recall@20 = 3/4;
    /// DCG@10 = 1/log2(2) + 1/log2(4) = 1.5, DCG@20 = 1.5 + 1/log2(16) = 1.75;
    /// IDCG (4 hits at the top) = 1 + 1/log2(3) + 1/2 + 1/log2(5) = 2.561606;
    /// nDCG@10 = 0.585566, nDCG@20 = 0.683161; MRR = 1.
    @Test func ranksOneThreeFifteenTwentyTwo() throws {
        let m = try #require(FullRanking.metrics(scores: descending, relevant: relevant([0, 2, 14, 21])))
        #expect(m.recallAt10 == 0.5)
        #expect(m.recallAt20 == 0.75)
        #expect(abs(m.ndcgAt10 - 0.585566) < 1e-5)
        #expect(abs(m.ndcgAt20 - 0.683161) < 1e-5)
        #expect(m.reciprocalRank == 1)
    }

    /// One relevant item at rank 2: recall 1 at both cut-offs, nDCG = (1/log2 3) / 1 = 0.630930,
    /// MRR = 1/2.
    @Test func oneRelevantAtRankTwo() throws {
        let m = try #require(FullRanking.metrics(scores: descending, relevant: relevant([1])))
        #expect(m.recallAt10 == 1 && m.recallAt20 == 1)
        #expect(abs(m.ndcgAt10 - 0.630930) < 1e-5)
        #expect(abs(m.ndcgAt20 - 0.630930) < 1e-5)
        #expect(m.reciprocalRank == 0.5)
    }

    /// The only relevant item at rank 25, past the top 20: every top-K metric 0, MRR = 1/25.
    @Test func relevantPastTheTopTwenty() throws {
        let m = try #require(FullRanking.metrics(scores: descending, relevant: relevant([24])))
        #expect(m.recallAt10 == 0 && m.recallAt20 == 0 && m.ndcgAt10 == 0 && m.ndcgAt20 == 0)
        #expect(m.reciprocalRank == 0.04)
    }

    /// Relevant at ranks 12 and 30 of 30: recall@10 0, recall@20 1/2;
    /// nDCG@20 = (1/log2 13) / (1 + 1/log2 3) = 0.270238 / 1.630930 = 0.165695; MRR = 1/12.
    @Test func twoRelevantOneInTheSecondTen() throws {
        let scores: [Float] = (0..<30).map { Float(30 - $0) }
        let m = try #require(FullRanking.metrics(scores: scores, relevant: relevant([11, 29], count: 30)))
        #expect(m.recallAt10 == 0 && m.recallAt20 == 0.5)
        #expect(m.ndcgAt10 == 0)
        #expect(abs(m.ndcgAt20 - 0.165695) < 1e-5)
        #expect(abs(m.reciprocalRank - 1.0 / 12) < 1e-12)
    }

    /// Ties keep the given order (the caller shuffles candidates, so ties are random); NaN ranks last.
    @Test func tiesKeepTheGivenOrderAndNaNRanksLast() throws {
        let constant = [Float](repeating: 1, count: 25)
        let tied = try #require(FullRanking.metrics(scores: constant, relevant: relevant([3])))
        #expect(tied.reciprocalRank == 0.25)
        var scores = descending
        scores[0] = .nan  // the relevant item, otherwise first, goes last: rank 25
        let last = try #require(FullRanking.metrics(scores: scores, relevant: relevant([0])))
        #expect(last.reciprocalRank == 0.04)
        #expect(FullRanking.top([.nan, 2, .nan, 3], k: 4) == [3, 1, 0, 2])
    }

    @Test func withoutARelevantItemOrWithMismatchedInputThereIsNoScore() {
        #expect(FullRanking.metrics(scores: descending, relevant: relevant([])) == nil)
        #expect(FullRanking.metrics(scores: [1, 2], relevant: [true]) == nil)
        #expect(FullRanking.metrics(scores: [], relevant: []) == nil)
        #expect(FullRanking.top([], k: 20).isEmpty)
    }

    /// Partial selection agrees with a full sort (score descending, then position) on random scores
    /// with many ties.
    @Test func partialSelectionAgreesWithAFullSort() {
        var random = SeededGenerator(seed: 7)
        for size in [0, 1, 5, 19, 20, 21, 300] {
            let scores = (0..<size).map { _ in Float(random.integer(below: 12)) }
            let sorted = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            #expect(FullRanking.top(scores, k: 20) == Array(sorted.prefix(20)))
            for position in scores.indices.prefix(10) {
                #expect(FullRanking.rank(of: position, in: scores) == sorted.firstIndex(of: position)! + 1)
            }
        }
    }
}
