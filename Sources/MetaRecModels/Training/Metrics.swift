import Foundation

/// The per-task metrics of the cold-start protocol (coldstart-v1, Docs/protocol.md),
/// computed on one task's query set; tables average them over tasks. They live with the models
/// because every trainer selects its epoch by them on validation users.
public enum Metrics {
    /// Mean absolute error.
    public static func meanAbsoluteError(_ predictions: [Float], _ targets: [Float]) -> Double {
        guard !targets.isEmpty else { return .nan }
        return zip(predictions, targets).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) } / Double(targets.count)
    }

    /// Root mean squared error.
    public static func rootMeanSquaredError(_ predictions: [Float], _ targets: [Float]) -> Double {
        guard !targets.isEmpty else { return .nan }
        let squares = zip(predictions, targets).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
        return (squares / Double(targets.count)).squareRoot()
    }

    /// nDCG@k of the items ranked by prediction, gain = true rating, discount log2(rank + 1).
    /// Ties in the prediction keep the query's order, so a constant predictor scores like a
    /// random order.
    public static func normalizedDCG(_ predictions: [Float], _ targets: [Float], at k: Int) -> Double {
        guard !targets.isEmpty else { return .nan }
        let ranked = predictions.indices.sorted {
            predictions[$0] > predictions[$1] || (predictions[$0] == predictions[$1] && $0 < $1)
        }
        let ideal = targets.sorted(by: >)
        func dcg(_ gains: [Float]) -> Double {
            gains.prefix(k).enumerated().reduce(0.0) {
                $0 + Double($1.element) / Foundation.log2(Double($1.offset) + 2)
            }
        }
        let best = dcg(ideal)
        return best > 0 ? dcg(ranked.map { targets[$0] }) / best : .nan
    }

    /// Area under the ROC curve of scores against 0/1 labels, from the ranks of the positives
    /// (Mann-Whitney U; tied scores share their mean rank, so a tie counts one half): O(n log n),
    /// for one task's ten items or a whole test set alike. Nil when there is one class only, as
    /// the protocol skips such tasks.
    public static func areaUnderCurve(_ scores: [Float], _ labels: [Float]) -> Double? {
        let positives = labels.indices.filter { labels[$0] >= 0.5 }
        let negatives = labels.count - positives.count
        guard !positives.isEmpty, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            for t in i...j { ranks[order[t]] = Double(i + j) / 2 + 1 }
            i = j + 1
        }
        let p = Double(positives.count)
        let rankSum = positives.reduce(0.0) { $0 + ranks[$1] }
        return (rankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }

    /// The items ranked by score, best first; ties keep the given order.
    static func ranking(_ scores: [Float]) -> [Int] {
        scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }

    /// Recall@k for 0/1 labels: the share of the positives ranked in the top k. Nil without a positive.
    public static func recall(_ scores: [Float], _ labels: [Float], at k: Int) -> Double? {
        let positives = labels.filter { $0 >= 0.5 }.count
        guard positives > 0 else { return nil }
        let hits = ranking(scores).prefix(k).filter { labels[$0] >= 0.5 }.count
        return Double(hits) / Double(positives)
    }

    /// Hit rate@k for 0/1 labels: 1 when a positive is ranked in the top k. Nil without a positive.
    public static func hitRate(_ scores: [Float], _ labels: [Float], at k: Int) -> Double? {
        guard labels.contains(where: { $0 >= 0.5 }) else { return nil }
        return ranking(scores).prefix(k).contains { labels[$0] >= 0.5 } ? 1 : 0
    }

    /// MRR@k: the reciprocal rank of the first relevant item (target ≥ `relevantAt`) among the
    /// top k by prediction, 0 if none is there; nil when no item is relevant. Ties keep the
    /// query's order, as in ``normalizedDCG(_:_:at:)``.
    public static func reciprocalRank(_ predictions: [Float], _ targets: [Float], at k: Int, relevantAt: Float)
        -> Double?
    {
        guard targets.contains(where: { $0 >= relevantAt }) else { return nil }
        let ranked = predictions.indices.sorted {
            predictions[$0] > predictions[$1] || (predictions[$0] == predictions[$1] && $0 < $1)
        }
        guard let first = ranked.prefix(k).firstIndex(where: { targets[$0] >= relevantAt }) else { return 0 }
        return 1 / Double(first + 1)
    }
}
