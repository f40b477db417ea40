import Foundation
import MetaRecCore
import MetaRecData
import Testing

@testable import MetaRecModels

/// The generator a bundle carries is selected among inner rates on held-out warm items: the kept
/// one is the candidate whose own validation objective is lowest.
@Suite struct MetaEmbeddingSelectionTests {
    @Test func keepsTheRateWithTheLowestValidationObjective() throws {
        let data = BuiltInData.synthetic(seed: 1, users: 150, items: 90, targetInteractions: 6_000).dataset
        let experiment = try Experiment(dataset: data, seed: 0, threads: 1)
        var pretraining = PretrainedNetwork.Options()
        pretraining.maxEpochs = 3
        let base = try experiment.trainPretrained(
            options: pretraining,
            model: MeLUModel.Configuration(embeddingSize: 4, hiddenSizes: [8], itemIDEmbedding: true))
        var options = MetaEmbeddingOptions(k: 3, epochs: 3, metaBatchSize: 8, learningRate: 1e-2)
        options.patience = 3
        let rates: [Float] = [0.001, 0.3]
        var objectives: [Float: Double] = [:]
        for rate in rates {
            let alone = try experiment.trainMetaEmbedding(
                model: base.model, parameters: base.parameters, options: options, innerRates: [rate])
            let summary = try #require(alone.summary)
            objectives[rate] = summary.validationObjective[summary.bestEpoch]
        }
        #expect(objectives[0.001] != objectives[0.3])
        let chosen = try experiment.trainMetaEmbedding(
            model: base.model, parameters: base.parameters, options: options, innerRates: rates)
        let best = rates.min { objectives[$0]! < objectives[$1]! }!
        #expect(chosen.options.innerLearningRate == best)
    }

    @Test func refusesANetworkWithoutItemIDEmbeddings() throws {
        let data = BuiltInData.synthetic(seed: 1, users: 60, items: 40, targetInteractions: 1_500).dataset
        let experiment = try Experiment(dataset: data, seed: 0, threads: 1)
        let model = MeLUModel(
            configuration: .init(embeddingSize: 4, hiddenSizes: [8]),
            users: FeatureSpace(experiment.split.userFeatures),
            items: FeatureSpace(experiment.split.itemFeatures))
        var random = SeededGenerator(seed: 0)
        #expect(throws: MetaEmbeddingError.self) {
            _ = try experiment.trainMetaEmbedding(model: model, parameters: model.initialParameters(using: &random))
        }
    }
}
