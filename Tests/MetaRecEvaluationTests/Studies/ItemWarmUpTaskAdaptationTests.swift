import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import Testing

@testable import MetaRecEvaluation

/// LWA and NLBA rows of the item warm-up table on a small synthetic click world.
@Suite(.serialized) struct ItemWarmUpTaskAdaptationTests {
    @Test func clickTableHasLWAAndNLBARows() throws {
        let data = BuiltInData.synthetic(
            seed: 1, users: 300, items: 150, targetInteractions: 15_000, feedback: .implicit(threshold: 4))
        let experiment = try Experiment(dataset: data.dataset, seed: 0, threads: 1)
        var pretraining = PretrainedNetwork.Options()
        pretraining.maxEpochs = 3
        pretraining.learningRate = 1e-2
        let base = try experiment.trainPretrained(
            options: pretraining,
            model: MeLUModel.Configuration(
                embeddingSize: 4, hiddenSizes: [8], itemIDEmbedding: true, objective: .click))
        let options = MetaEmbeddingOptions(k: 3, epochs: 2, metaBatchSize: 16, learningRate: 1e-2)
        let generator = try experiment.trainMetaEmbedding(base: base, options: options)
        let methods = try experiment.trainItemTaskAdaptations(base: base, options: options, learningRates: [0.01])
        #expect(methods.map(\.name) == ["LWA", "NLBA"])
        let report = try experiment.itemWarmUp(
            base: base, generator: generator, itemTasks: methods,
            options: ItemWarmUpOptions(k: 3, minimumTestInteractions: 5))
        for name in ["LWA", "NLBA"] {
            let row = try #require(report.rows.first { $0.initialisation.hasPrefix(name) }, "no \(name) row")
            #expect(row.phases.map(\.phase) == ItemWarmUp.phases)
            #expect(row.phases.allSatisfy { ($0.auc ?? .nan).isFinite && $0.loss.isFinite })
            // The cold phase reads no support, the others do: the scores (hence the loss) change.
            #expect(row.phases[0].loss != row.phases[3].loss)
        }
        #expect(report.markdown().contains("| LWA (support read, no step) |"))
    }
}

/// On explicit ratings the table leaves LWA and NLBA out and says why.
@Suite(.serialized) struct ItemWarmUpExplicitNoteTests {
    @Test func explicitRatingsLeaveLWAAndNLBAOutWithANote() throws {
        let world = WarmUpWorld.shared
        let report = try world.experiment.itemWarmUp(
            base: world.base, generatorOptions: MetaEmbeddingOptions(k: 3, epochs: 1, metaBatchSize: 16),
            options: world.options)
        #expect(!report.rows.contains { $0.initialisation.hasPrefix("LWA") || $0.initialisation.hasPrefix("NLBA") })
        #expect(report.notes?.contains { $0.contains("LWA and NLBA") && $0.contains("click data") } == true)
        #expect(report.markdown().contains("Note: LWA and NLBA"))
    }
}
