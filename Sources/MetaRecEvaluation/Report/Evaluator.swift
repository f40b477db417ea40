import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// One method's metrics on one scenario, averaged over its tasks.
public struct ScenarioResult: Sendable, Codable, Equatable {
    public var tasks: Int
    public var meanAbsoluteError: Double
    public var rootMeanSquaredError: Double
    public var ndcgAt3: Double
    /// nDCG@5 (gain = target) and MRR@5 (relevant: a click, or a rating of at least 4) of the
    /// query items, the metrics of RecBole's meta-learning board; nil in reports written before them.
    public var ndcgAt5: Double?
    public var mrrAt5: Double?
    /// Mean per-task AUC (GAUC) over tasks with both classes, for implicit feedback.
    public var auc: Double?
    public var aucTasks: Int
    /// Recall, nDCG and hit rate at ``RankingResult/cutoff`` over tasks with both classes (implicit feedback).
    public var ranking: RankingResult?
    /// Calibration: mean over tasks of (mean prediction − mean target) on the query set. In
    /// item-cold it says whether new items are predicted too low (a penalty for being new).
    public var bias: Double?
    /// The scenario's whole item set ranked (Docs/protocol.md, Full ranking); nil in reports
    /// written before it, or when no task has a relevant query item.
    public var fullRanking: FullRankingResult?
}

/// Top-k metrics for implicit feedback, averaged over tasks with a positive and a negative; the
/// candidates are each task's query items (``EvaluationReport/candidateSet`` says which).
public struct RankingResult: Sendable, Codable, Equatable {
    /// K of the top-K metrics: half of the protocol's ten query items.
    public static let cutoff = 5
    public var k: Int
    public var recall: Double
    public var ndcg: Double
    public var hitRate: Double
    public var tasks: Int
}

/// One row of a results table: a method's scenario metrics and its few-shot curve.
public struct MethodReport: Sendable, Codable {
    public var name: String
    public var scenarios: [String: ScenarioResult]
    /// User-cold MAE with only the K earliest support ratings (K = 0 means no adaptation); a
    /// K of -1 stands for "all".
    public var fewShot: [FewShotPoint]
    public var seconds: Double
    /// User-cold full ranking with only the K earliest support ratings, keyed by K ("0", "1",
    /// "3", "5", "10"); nil in reports written before it or without full ranking.
    public var fullRankingFewShot: [String: FullRankingResult]?
}

public struct FewShotPoint: Sendable, Codable, Equatable {
    public var k: Int
    public var meanAbsoluteError: Double
    public var auc: Double?
}

/// Runs methods over the protocol's test scenarios (coldstart-v1, Docs/protocol.md).
public struct Evaluator: Sendable {
    public var scenarios: [Scenario]
    public var fewShotSizes: [Int]
    public var threads: Int
    public let features: FeatureContext
    private let prepared: [Scenario: [PreparedTask]]
    private let fewShotTasks: [Int: [PreparedTask]]
    /// Each scenario's tasks ready for full ranking; empty when the evaluator was built without candidates.
    public let fullRanking: [Scenario: FullRankingTasks]
    /// The user-cold full-ranking tasks with each few-shot support size (K ≥ 0), candidates as
    /// with the whole support.
    public let fullRankingFewShot: [Int: FullRankingTasks]

    /// Prepares each scenario's tasks once, and the user-cold tasks truncated to each few-shot size.
    /// - Parameter histories: what is known of each user before the task (``ProtocolSplit/knownHistories()``),
    ///   attached to the tasks of scenarios whose users have a history.
    /// - Parameter candidates: the full-ranking candidate rule; nil: no full ranking. A query
    ///   target at or above `relevantAt` is relevant; `rankingSeed` orders tied candidates.
    public init(
        tasks: [Scenario: [ProtocolTask]], features: FeatureContext,
        scenarios: [Scenario] = [.userCold, .itemCold, .bothCold], fewShotSizes: [Int] = [0, 1, 3, 5, 10, -1],
        threads: Int = 2, histories: [Int32: [Interaction]] = [:], candidates: RankingCandidates? = nil,
        relevantAt: Float = 4, rankingSeed: UInt64 = 0
    ) {
        self.scenarios = scenarios.filter { !(tasks[$0] ?? []).isEmpty }
        self.fewShotSizes = fewShotSizes
        self.threads = threads
        self.features = features
        var prepared: [Scenario: [PreparedTask]] = [:]
        for scenario in scenarios {
            let known = scenario.usersHaveHistory ? histories : [:]
            prepared[scenario] = Parallel.map(tasks[scenario] ?? [], workers: threads) {
                PreparedTask($0, features: features).withHistory(known[$0.user], features: features)
            }
        }
        self.prepared = prepared
        var fewShot: [Int: [PreparedTask]] = [:]
        var rankingFewShot: [Int: FullRankingTasks] = [:]
        let userCold = tasks[.userCold] ?? []
        for k in fewShotSizes {
            let truncated = k < 0 ? userCold : userCold.map { $0.truncatedSupport(toEarliest: k) }
            fewShot[k] =
                k < 0
                ? prepared[.userCold] ?? []
                : Parallel.map(truncated, workers: threads) { PreparedTask($0, features: features) }
            if let candidates, k >= 0, !userCold.isEmpty {
                rankingFewShot[k] = FullRankingTasks(
                    tasks: truncated, prepared: fewShot[k] ?? [], candidates: candidates, relevantAt: relevantAt,
                    seed: rankingSeed)
            }
        }
        self.fewShotTasks = fewShot
        self.fullRankingFewShot = rankingFewShot
        var ranking: [Scenario: FullRankingTasks] = [:]
        if let candidates {
            for scenario in self.scenarios {
                ranking[scenario] = FullRankingTasks(
                    tasks: tasks[scenario] ?? [], prepared: prepared[scenario] ?? [], candidates: candidates,
                    relevantAt: relevantAt, seed: rankingSeed)
            }
        }
        self.fullRanking = ranking
    }

    public func tasks(_ scenario: Scenario) -> [PreparedTask] { prepared[scenario] ?? [] }

    public func evaluate(_ method: ColdStartPredictor) -> MethodReport {
        let start = Date()
        var results: [String: ScenarioResult] = [:]
        for scenario in scenarios {
            var result = Self.score(method, prepared[scenario] ?? [], threads: threads)
            // The whole item set: candidates scored in one batch per task after the same adaptation.
            result.fullRanking = fullRanking[scenario]?.result(
                PredictorScorer(method, features: features), threads: threads)
            results[scenario.rawValue] = result
        }
        let curve = fewShotSizes.compactMap { k -> FewShotPoint? in
            guard let tasks = fewShotTasks[k], !tasks.isEmpty else { return nil }
            let result = Self.score(method, tasks, threads: threads)
            return FewShotPoint(k: k, meanAbsoluteError: result.meanAbsoluteError, auc: result.auc)
        }
        var report = MethodReport(
            name: method.name, scenarios: results, fewShot: curve, seconds: Date().timeIntervalSince(start))
        report.fullRankingFewShot = rankingFewShot(PredictorScorer(method, features: features))
        return report
    }

    /// `scorer`'s user-cold full ranking at each few-shot support size; nil without full ranking.
    public func rankingFewShot(_ scorer: CandidateScorer) -> [String: FullRankingResult]? {
        guard !fullRankingFewShot.isEmpty else { return nil }
        var results: [String: FullRankingResult] = [:]
        for (k, tasks) in fullRankingFewShot {
            if let result = tasks.result(scorer, threads: threads) { results[String(k)] = result }
        }
        return results.isEmpty ? nil : results
    }

    /// The protocol's metrics of `method` on `tasks`, averaged over tasks. AUC counts a target
    /// of at least `positiveAt` as positive (0.5 for clicks; 4 turns ratings into likes).
    public static func score(
        _ method: ColdStartPredictor, _ tasks: [PreparedTask], threads: Int, positiveAt: Float = 0.5
    ) -> ScenarioResult {
        let k = RankingResult.cutoff
        // MRR's relevance: a click, or on a rating scale a rating of at least 4.
        let isRatingScale = tasks.contains { $0.queryTargets.values.contains { $0 > 1 } }
        let relevantAt = isRatingScale ? max(positiveAt, 4) : positiveAt
        let perTask = Parallel.map(tasks, workers: threads) { task -> TaskScores in
            let predictions = method.predict(task)
            let targets = task.queryTargets.values
            let labels: [Float] = targets.map { $0 >= positiveAt ? 1 : 0 }
            let auc = Metrics.areaUnderCurve(predictions, labels)
            // Top-k metrics only where both classes are present, like AUC.
            let ranking =
                auc == nil
                ? nil
                : [
                    Metrics.recall(predictions, labels, at: k) ?? .nan,
                    Metrics.normalizedDCG(predictions, labels, at: k),
                    Metrics.hitRate(predictions, labels, at: k) ?? .nan,
                ]
            let bias =
                targets.isEmpty
                ? Double.nan
                : Double(zip(predictions, targets).reduce(Float(0)) { $0 + $1.0 - $1.1 }) / Double(targets.count)
            return TaskScores(
                meanAbsoluteError: Metrics.meanAbsoluteError(predictions, targets),
                rootMeanSquaredError: Metrics.rootMeanSquaredError(predictions, targets),
                ndcgAt3: Metrics.normalizedDCG(predictions, targets, at: 3), auc: auc, ranking: ranking,
                ndcgAt5: Metrics.normalizedDCG(predictions, targets, at: 5),
                mrrAt5: Metrics.reciprocalRank(predictions, targets, at: 5, relevantAt: relevantAt), bias: bias
            )
        }
        func mean(_ values: [Double]) -> Double {
            let finite = values.filter(\.isFinite)
            return finite.isEmpty ? .nan : finite.reduce(0, +) / Double(finite.count)
        }
        let aucs = perTask.compactMap(\.auc)
        let rankings = perTask.compactMap(\.ranking)
        let ranking =
            rankings.isEmpty
            ? nil
            : RankingResult(
                k: k, recall: mean(rankings.map { $0[0] }), ndcg: mean(rankings.map { $0[1] }),
                hitRate: mean(rankings.map { $0[2] }),
                tasks: rankings.count)
        return ScenarioResult(
            tasks: tasks.count, meanAbsoluteError: mean(perTask.map(\.meanAbsoluteError)),
            rootMeanSquaredError: mean(perTask.map(\.rootMeanSquaredError)),
            ndcgAt3: mean(perTask.map(\.ndcgAt3)), ndcgAt5: mean(perTask.map(\.ndcgAt5)),
            mrrAt5: mean(perTask.compactMap(\.mrrAt5)),
            auc: aucs.isEmpty ? nil : mean(aucs), aucTasks: aucs.count, ranking: ranking,
            bias: mean(perTask.map(\.bias)))
    }

    /// A full-ranking baseline's row over the scenarios with full ranking: `scorers(scenario)`
    /// gives the scenario's scorer (popularity differs by scenario), nil where it has none.
    public func evaluateRanking(name: String, _ scorer: (Scenario) -> CandidateScorer?) -> RankingBaselineReport {
        let start = Date()
        var results: [String: FullRankingResult] = [:]
        for scenario in scenarios {
            guard let tasks = fullRanking[scenario], let scorer = scorer(scenario) else { continue }
            results[scenario.rawValue] = tasks.result(scorer, threads: threads)
        }
        var report = RankingBaselineReport(
            name: name, scenarios: results, seconds: Date().timeIntervalSince(start))
        report.fewShot = scorer(.userCold).flatMap(rankingFewShot)
        return report
    }

    /// nDCG@3 of a random order of each task's query items, averaged over `draws` orders: the
    /// floor that the protocol asks to print beside every nDCG. NaN when no task has a positive gain.
    public func randomOrderNDCG(_ scenario: Scenario, draws: Int = 20, seed: UInt64 = 0) -> Double {
        var random = SeededGenerator(seed: seed).derived("random-ndcg-\(scenario.rawValue)")
        let tasks = prepared[scenario] ?? []
        var total = 0.0
        var count = 0
        for task in tasks {
            for _ in 0..<draws {
                let scores = (0..<task.queryCount).map { _ in random.uniform() }
                // Undefined (no positive gain, e.g. an implicit task of negatives only): skipped,
                // as the methods' own nDCG skips it.
                let value = Metrics.normalizedDCG(scores, task.queryTargets.values, at: 3)
                if value.isFinite {
                    total += value
                    count += 1
                }
            }
        }
        return count == 0 ? .nan : total / Double(count)
    }
}

/// One task's metrics, before they are averaged over tasks.
private struct TaskScores {
    var meanAbsoluteError: Double
    var rootMeanSquaredError: Double
    var ndcgAt3: Double
    var auc: Double?
    var ranking: [Double]?
    var ndcgAt5: Double
    var mrrAt5: Double?
    var bias: Double
}
