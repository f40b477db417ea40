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
        return Evaluator(tasks: tasks, features: features, threads: threads)
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
            floors[scenario.rawValue] = evaluator.randomOrderNDCG(scenario, seed: seed)
        }
        let implicit: Bool
        if case .implicit = dataset.feedback { implicit = true } else { implicit = false }
        return EvaluationReport(
            dataset: dataset.name, seed: seed, implicitFeedback: implicit, checksums: dataset.fileChecksums,
            scenarios: evaluator.scenarios.map(\.rawValue), taskCounts: counts, randomOrderNDCG: floors,
            methods: reports, wallSeconds: Date().timeIntervalSince(started))
    }
}
