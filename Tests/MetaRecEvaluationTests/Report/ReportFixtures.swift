import Foundation

@testable import MetaRecEvaluation

/// Small hand-made reports with known figures, for the summary and HTML tests.
enum ReportFixtures {
    static func scenario(mae: Double, auc: Double? = nil) -> ScenarioResult {
        ScenarioResult(
            tasks: 10, meanAbsoluteError: mae, rootMeanSquaredError: mae + 0.2, ndcgAt3: 0.9, auc: auc,
            aucTasks: auc == nil ? 0 : 10)
    }

    static func method(_ name: String, mae: Double, curve: [Double]) -> MethodReport {
        let sizes = [0, 1, 3, -1]
        return MethodReport(
            name: name, scenarios: ["user-cold": scenario(mae: mae)],
            fewShot: zip(sizes, curve).map { FewShotPoint(k: $0, meanAbsoluteError: $1, auc: nil) }, seconds: 1)
    }

    static func table(seed: UInt64, dataset: String = "ml-100k", methods: [MethodReport]) -> EvaluationReport {
        EvaluationReport(
            dataset: dataset, seed: seed, implicitFeedback: false, checksums: ["u.data": "ab12"],
            scenarios: ["user-cold"], taskCounts: ["user-cold": 10 + Int(seed)],
            randomOrderNDCG: ["user-cold": 0.8], methods: methods, wallSeconds: 2)
    }

    static func streaming(seed: UInt64, gaucs: [Double?]) -> StreamingReport {
        let errors = gaucs.map { _ in 0.9 }
        let row = StreamingRow(
            partition: "last-layer", condition: "online + replay", users: gaucs.count, meanAbsoluteError: 0.9,
            auc: 0.7, earlierBefore: scenario(mae: 1), earlierAfter: scenario(mae: 1), bytesPerUser: 4,
            adaptationMilliseconds: 1, updateMilliseconds: 1,
            curve: StreamPoint.cumulative(errors: errors, aucs: gaucs))
        return StreamingReport(dataset: "ml-100k", seed: seed, options: StreamingOptions(), rows: [row])
    }
}

extension ReportFixtures {
    /// A full-ranking result whose five metrics are `recall` (R@10 and R@20 apart by 0.01),
    /// `ndcg` (nDCG@10, nDCG@20 0.01 above) and `mrr`.
    static func ranking(recall: Double, ndcg: Double, mrr: Double = 0.3) -> FullRankingResult {
        FullRankingResult(
            tasks: 10, tasksWithoutRelevant: 0, meanCandidates: 100, recallAt10: recall - 0.01, recallAt20: recall,
            ndcgAt10: ndcg, ndcgAt20: ndcg + 0.01, mrr: mrr)
    }
}
