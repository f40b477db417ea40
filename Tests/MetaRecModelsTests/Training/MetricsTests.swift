import Foundation
import Testing

@testable import MetaRecModels

@Suite struct MetricsTests {
    @Test func errors() {
        #expect(abs(Metrics.meanAbsoluteError([1, 2, 4], [2, 2, 2]) - 1) < 1e-12)
        #expect(abs(Metrics.rootMeanSquaredError([1, 2, 4], [2, 2, 2]) - (5.0 / 3).squareRoot()) < 1e-12)
    }

    @Test func ndcgByHand() {
        // Ranking by prediction: items 2, 0, 1 with gains 3, 5, 1; ideal 5, 3, 1.
        let value = Metrics.normalizedDCG([0.5, 0.1, 0.9], [5, 1, 3], at: 3)
        let dcg = 3 / log2(2.0) + 5 / log2(3.0) + 1 / log2(4.0)
        let ideal = 5 / log2(2.0) + 3 / log2(3.0) + 1 / log2(4.0)
        #expect(abs(value - dcg / ideal) < 1e-12)
        #expect(abs(Metrics.normalizedDCG([3, 2, 1], [5, 3, 1], at: 2) - 1) < 1e-12)
    }

    @Test func aucByHand() {
        // Positives score 0.9 and 0.4; negatives 0.5 and 0.4: pairs won 2 + 0 + 0.5 of 4.
        #expect(Metrics.areaUnderCurve([0.9, 0.4, 0.5, 0.4], [1, 1, 0, 0]) == 2.5 / 4)
        #expect(Metrics.areaUnderCurve([0.1, 0.2], [1, 1]) == nil)
    }

    @Test func topKByHand() {
        // Ranked: items 3 (neg), 0 (pos), 2 (neg), 1 (pos); two positives.
        let scores: [Float] = [0.8, 0.1, 0.5, 0.9]
        let labels: [Float] = [1, 1, 0, 0]
        #expect(Metrics.recall(scores, labels, at: 1) == 0)
        #expect(Metrics.recall(scores, labels, at: 2) == 0.5)
        #expect(Metrics.recall(scores, labels, at: 4) == 1)
        #expect(Metrics.hitRate(scores, labels, at: 1) == 0)
        #expect(Metrics.hitRate(scores, labels, at: 2) == 1)
        #expect(Metrics.recall(scores, [0, 0, 0, 0], at: 2) == nil)
        #expect(Metrics.hitRate(scores, [0, 0, 0, 0], at: 2) == nil)
        // Binary nDCG@2: a hit at rank 2 of an ideal two hits at ranks 1 and 2.
        let expected = (1 / log2(3.0)) / (1 + 1 / log2(3.0))
        #expect(abs(Metrics.normalizedDCG(scores, labels, at: 2) - expected) < 1e-12)
    }

    @Test func reciprocalRankByHand() {
        // Ranked by prediction: targets 3, 2, 5, 4, 1, 5; the first rating ≥ 4 is third.
        let predictions: [Float] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.1]
        #expect(Metrics.reciprocalRank(predictions, [3, 2, 5, 4, 1, 5], at: 5, relevantAt: 4) == 1.0 / 3)
        #expect(
            Metrics.reciprocalRank(predictions, [3, 2, 1, 1, 1, 5], at: 5, relevantAt: 4) == 0,
            "relevant item ranked sixth")
        #expect(
            Metrics.reciprocalRank(predictions, [3, 2, 1, 1, 1, 2], at: 5, relevantAt: 4) == nil, "no relevant item")
    }
}
