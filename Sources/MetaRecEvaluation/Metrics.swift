import Foundation

/// The per-task metrics of the cold-start protocol (coldstart-v1, ../shared/PROTOCOL.md),
/// computed on one task's query set; tables average them over tasks.
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
        let ranked = predictions.indices.sorted { predictions[$0] > predictions[$1] || (predictions[$0] == predictions[$1] && $0 < $1) }
        let ideal = targets.sorted(by: >)
        func dcg(_ gains: [Float]) -> Double {
            gains.prefix(k).enumerated().reduce(0.0) { $0 + Double($1.element) / Foundation.log2(Double($1.offset) + 2) }
        }
        let best = dcg(ideal)
        return best > 0 ? dcg(ranked.map { targets[$0] }) / best : .nan
    }

    /// Area under the ROC curve of scores against 0/1 labels (ties count one half); nil when
    /// the task has one class only, as the protocol skips such tasks.
    public static func areaUnderCurve(_ scores: [Float], _ labels: [Float]) -> Double? {
        let positives = labels.indices.filter { labels[$0] >= 0.5 }
        let negatives = labels.indices.filter { labels[$0] < 0.5 }
        guard !positives.isEmpty, !negatives.isEmpty else { return nil }
        var wins = 0.0
        for p in positives {
            for n in negatives {
                if scores[p] > scores[n] { wins += 1 } else if scores[p] == scores[n] { wins += 0.5 }
            }
        }
        return wins / Double(positives.count * negatives.count)
    }
}
