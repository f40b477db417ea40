import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// A ratings-only log (no user file, no item file) is the most common data people have: every
/// network method must train and predict on it through the learned prior field.
@Suite(.serialized) struct FeaturelessDataTests {
    static let experiment: Experiment = {
        var dataset = BuiltInData.synthetic(seed: 5, users: 160, items: 60, targetInteractions: 6_000).dataset
        dataset.rawUserFeatures = RawFeatures()
        dataset.rawItemFeatures = RawFeatures()
        return try! Experiment(dataset: dataset, seed: 0, threads: 2)
    }()

    func finitePredictions(_ method: ColdStartPredictor) -> Bool {
        let tasks = Self.experiment.validation
        return !tasks.isEmpty
            && tasks.allSatisfy { task in
                let predictions = method.predict(task)
                return predictions.count == task.queryCount && predictions.allSatisfy(\.isFinite)
            }
    }

    @Test func eachSideGetsOneLearnedPriorField() {
        let split = Self.experiment.split
        #expect(split.userFeatures.fields.map(\.name) == [RawFeatures.priorField])
        #expect(split.itemFeatures.fields.map(\.name) == [RawFeatures.priorField])
        #expect(split.itemFeatures.fields[0].cardinality == 1)
        #expect((0..<split.itemFeatures.count).allSatisfy { split.itemFeatures.indices(field: 0, entity: $0) == [0] })
        let model = Self.experiment.model(.init(embeddingSize: 4, hiddenSizes: [8], itemIDEmbedding: true))
        #expect(model.representationWidth == 3 * 4, "prior user, prior item and the item id")
    }

    @Test func pretrainedAndMetaLearnersTrainAndPredict() throws {
        var pretraining = PretrainedNetwork.Options()
        pretraining.maxEpochs = 2
        let configuration = MeLUModel.Configuration(embeddingSize: 4, hiddenSizes: [8], itemIDEmbedding: true)
        let network = try Self.experiment.trainPretrained(options: pretraining, model: configuration)
        #expect(finitePredictions(network))
        var options = MetaTrainingOptions()
        options.maxEpochs = 1
        options.metaBatchSize = 8
        options.adaptation = AdaptationRule(partition: .decisionLayers, steps: 1, learningRate: 0.05)
        let learner = try Self.experiment.trainMetaLearner(options: options, model: configuration)
        #expect(finitePredictions(learner))
        // Warm items differ through their id embeddings; the learned prior is shared.
        let trained = network.parameters.tensor(MeLUModel.itemIDEmbeddingName).values
        #expect(trained.contains { $0 != 0 }, "item-id embeddings stayed at zero")
    }

    @Test func covarianceHeadTrainsAndPredicts() throws {
        var configuration = CovarianceHead.Configuration()
        configuration.maxEpochs = 1
        configuration.embeddingSize = 4
        configuration.representationSize = 4
        let head = try Self.experiment.trainCovarianceHead(configuration: configuration)
        #expect(finitePredictions(head))
    }
}
