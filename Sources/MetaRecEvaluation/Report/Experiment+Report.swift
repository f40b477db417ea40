import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

extension Experiment {
    /// An evaluator of the test scenarios. Built on demand, so `train` and `recommend` never
    /// prepare test tasks they do not score.
    /// - Parameter candidates: the full-ranking candidate rule; nil: no full ranking.
    public func makeEvaluator(candidates: RankingCandidates? = nil) -> Evaluator {
        var tasks: [Scenario: [ProtocolTask]] = [:]
        for scenario in Scenario.allCases { tasks[scenario] = split.tasks(scenario) }
        return Evaluator(
            tasks: tasks, features: features, threads: threads, histories: split.knownHistories(),
            candidates: candidates, relevantAt: relevantAt, rankingSeed: seed)
    }

    /// Evaluates `methods` on the test scenarios and assembles the protocol's table.
    /// Every method also ranks each scenario's whole item set (Docs/protocol.md, Full ranking),
    /// beside the non-meta ranking baselines fitted here on warm ratings (EASE's λ on validation users).
    public func report(
        for methods: [ColdStartPredictor], fullRanking: Bool = true, log: ((String) -> Void)? = nil
    ) -> EvaluationReport {
        let candidates = fullRanking ? rankingCandidates() : nil
        let evaluator = makeEvaluator(candidates: candidates)
        var reports: [MethodReport] = []
        for method in methods {
            log?("evaluating \(method.name)")
            reports.append(evaluator.evaluate(method))
        }
        var rankingRows: [RankingBaselineReport] = []
        var rankingNotes: [String] = []
        if let candidates, !evaluator.fullRanking.isEmpty {
            log?("fitting the full-ranking baselines")
            let started = Date()
            let baselines = fitRankingBaselines(candidates: candidates)
            let fitSeconds = Date().timeIntervalSince(started)
            var byScenario: [Scenario: [CandidateScorer]] = [:]
            for scenario in evaluator.scenarios {
                byScenario[scenario] = baselines.scorers(for: split.tasks(scenario)) + [ConstantScorer()]
            }
            let names = byScenario.values.first?.map(\.name) ?? []
            for name in names {
                log?("evaluating \(name) (full ranking)")
                rankingRows.append(evaluator.evaluateRanking(name: name) { byScenario[$0]?.first { $0.name == name } })
            }
            rankingNotes.append(baselines.easeSummary + String(format: "; fitting took %.1f s.", fitSeconds))
            // Issue 21, part 3: the best adaptive method mixed with an item-item signal and a
            // popularity prior, everything chosen on validation users.
            let hybrid = chooseRankingHybrid(
                methods: methods, baselines: baselines, candidates: candidates, log: log)
            if hybrid.existingItems != nil || hybrid.newItems != nil {
                log?("evaluating the ranking hybrid (full ranking)")
                rankingRows.append(
                    evaluator.evaluateRanking(name: RankingHybridChoice.rowName) { scenario in
                        hybrid.scorer(
                            for: scenario,
                            popularity: Popularity(
                                warm: split.warmInteractions, supports: split.tasks(scenario).flatMap(\.support),
                                isNewItem: split.isNewItem))
                    })
                rankingNotes.append(hybrid.summary)
            }
        }
        var counts: [String: Int] = [:]
        var floors: [String: Double] = [:]
        for scenario in evaluator.scenarios {
            counts[scenario.rawValue] = evaluator.tasks(scenario).count
            let floor = evaluator.randomOrderNDCG(scenario, seed: seed)
            if floor.isFinite { floors[scenario.rawValue] = floor }  // undefined: absent, never NaN
        }
        let implicit: Bool
        if case .implicit = dataset.feedback { implicit = true } else { implicit = false }
        var report = EvaluationReport(
            dataset: dataset.name, seed: seed, implicitFeedback: implicit, checksums: dataset.fileChecksums,
            scenarios: evaluator.scenarios.map(\.rawValue), taskCounts: counts, randomOrderNDCG: floors,
            methods: reports, wallSeconds: Date().timeIntervalSince(started))
        var missing: [String: String] = [:]
        for scenario in [Scenario.userCold, .itemCold, .bothCold] where !evaluator.scenarios.contains(scenario) {
            missing[scenario.rawValue] = split.missingTaskReason(scenario)
        }
        report.missingScenarios = missing.isEmpty ? nil : missing
        report.newItemRule = split.newItemRule
        report.negativeSampling = dataset.negativeSampling?.description
        if implicit {
            report.candidateSet =
                dataset.negativeSampling == nil
                ? "each task's query items (all from the log)"
                : "each task's query items: the user's positives and sampled negatives, not all items"
        }
        var notes: [String] = []
        if dataset.rawItemFeatures.isFeatureless {
            notes.append(
                "items have no features: a new item is known only by the learned item prior, so item-cold and both-cold measure what the user side alone predicts (new items cannot be told apart); warm items keep their id embeddings."
            )
        }
        if dataset.rawUserFeatures.isFeatureless {
            notes.append(
                "users have no features: a new user starts from the learned user prior and is told apart only by their support ratings."
            )
        }
        report.notes = notes.isEmpty ? nil : notes
        if !rankingRows.isEmpty {
            report.rankingBaselines = rankingRows
            report.fullRankingNotes = rankingNotes
        }
        return report
    }
}
