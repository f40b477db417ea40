import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

extension Experiment {
    /// An evaluator of the test scenarios. Built on demand, so `train` and `recommend` never
    /// prepare test tasks they do not score.
    public func makeEvaluator() -> Evaluator {
        var tasks: [Scenario: [ProtocolTask]] = [:]
        for scenario in Scenario.allCases { tasks[scenario] = split.tasks(scenario) }
        return Evaluator(tasks: tasks, features: features, threads: threads, histories: split.knownHistories())
    }

    /// Evaluates `methods` on the test scenarios and assembles the protocol's table.
    public func report(for methods: [ColdStartPredictor], log: ((String) -> Void)? = nil) -> EvaluationReport {
        let evaluator = makeEvaluator()
        var reports: [MethodReport] = []
        for method in methods {
            log?("evaluating \(method.name)")
            reports.append(evaluator.evaluate(method))
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
        return report
    }
}
