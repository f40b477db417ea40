import Foundation
import MetaRecCore
import MetaRecData
import Testing

@testable import MetaRecModels

/// The demo's roster as a library call: every method of the table, in the table's order, and a
/// monitor that says stop ends it after the phase it is in.
@Suite(.serialized) struct DemoRecipeTests {
    static func experiment() throws -> Experiment {
        let data = BuiltInData.synthetic(seed: 3, users: 90, items: 60, targetInteractions: 3_000).dataset
        var configuration = RunConfiguration()
        configuration.setEpochs(1, patience: 1)
        configuration.covariance.maxEpochs = 1
        return try Experiment(dataset: data, configuration: configuration)
    }

    @Test func trainsEveryMethodOfTheTableInOrder() throws {
        let experiment = try Self.experiment()
        var recipe = DemoRecipe(configuration: experiment.configuration)
        recipe.tanp.maxEpochs = 1
        var phases: [String] = []
        let methods = try recipe.train(experiment, phases: RecordingPhases { phases.append($0) })
        #expect(
            phases == [
                "pretrained network", "pretrained network (user id)", "MAML", "first-order MAML", "Meta-SGD",
                "covariance head", "TaNP", "MAMO",
            ])
        let baselines = experiment.baselines().count
        #expect(methods.count == baselines + 4 + 6)
        #expect(methods[baselines...].contains { ($0 as? MetaLearner)?.options.learnsInnerRates == true })
        let orders = methods.compactMap { ($0 as? MetaLearner)?.options.order }
        #expect(orders == [.second, .first, .second])
        let known = methods.compactMap { $0 as? PretrainedNetwork }.filter { $0.model.configuration.userIDEmbedding }
        #expect(known.count == 2)
    }

    @Test func aMonitorThatSaysStopEndsItAfterThePhaseItIsIn() throws {
        let experiment = try Self.experiment()
        var phases: [String] = []
        let stopping = RecordingPhases(monitor: TrainingMonitor(isInterrupted: { true })) { phases.append($0) }
        #expect(throws: TrainingInterrupted.self) {
            _ = try DemoRecipe(configuration: experiment.configuration).train(experiment, phases: stopping)
        }
        #expect(phases == ["pretrained network"])
    }
}

/// Phases that record their names, with a monitor of the test's choosing.
private struct RecordingPhases: TrainingPhases {
    var monitor: TrainingMonitor = .silent
    var record: (String) -> Void
    func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        record(name)
        return try body()
    }
}
