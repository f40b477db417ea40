import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite struct ArchiveAndRankerTests {
    let world = SmallWorld.shared

    func temporaryFile(_ name: String) -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent(name)
    }

    @Test func metaLearnerArchiveRoundTrip() throws {
        var options = MetaTrainingOptions()
        options.learnsInnerRates = true
        let learner = MetaLearner(model: world.model(), options: options)
        let url = temporaryFile("maml.safetensors")
        let description = ModelArchive.DataDescription(
            name: "small", source: "synthetic", seed: 0, implicitThreshold: nil)
        try ModelArchive(learner, data: description).write(to: url)
        let archive = try ModelArchive(contentsOf: url)
        #expect(archive.header.data == description)
        let restored = try #require(try archive.predictor() as? MetaLearner)
        #expect(restored.options == learner.options)
        for task in world.userCold.prefix(5) { #expect(restored.predict(task) == learner.predict(task)) }
    }

    @Test func covarianceArchiveRoundTrip() throws {
        let head = CovarianceHead(
            configuration: .init(), users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures), noiseVariance: 0.7)
        let url = temporaryFile("head.safetensors")
        try ModelArchive(head, data: .init(name: "small", source: "synthetic", seed: 0, implicitThreshold: nil)).write(
            to: url)
        let restored = try #require(try ModelArchive(contentsOf: url).predictor() as? CovarianceHead)
        #expect(abs(restored.noiseVariance - 0.7) < 1e-12)
        for task in world.userCold.prefix(3) {
            for (a, b) in zip(restored.predict(task), head.predict(task)) { #expect(abs(a - b) < 1e-5) }
        }
    }

    @Test func refusesAnArchiveWhoseShapesDoNotFit() throws {
        let learner = MetaLearner(model: world.model(), options: MetaTrainingOptions())
        var archive = ModelArchive(
            learner, data: .init(name: "small", source: "synthetic", seed: 0, implicitThreshold: nil))
        archive.parameters["output.weight"] = Tensor.zeros([3, 1]).asParameter()
        let url = temporaryFile("bad.safetensors")
        try archive.write(to: url)
        #expect { try ModelArchive(contentsOf: url).predictor() } throws: { error in
            "\(error)".contains("output.weight") && "\(error)".contains("[3, 1]")
        }
    }

    @Test func refusesToSaveNonFiniteWeightsAndKeepsTheGoodFile() throws {
        let learner = MetaLearner(model: world.model(), options: MetaTrainingOptions())
        let description = ModelArchive.DataDescription(
            name: "small", source: "synthetic", seed: 0, implicitThreshold: nil)
        let url = temporaryFile("model.safetensors")
        try ModelArchive(learner, data: description).write(to: url)
        let good = try Data(contentsOf: url)
        var archive = ModelArchive(learner, data: description)
        archive.parameters["output.bias"] = Tensor(shape: [1], values: [.nan]).asParameter()
        #expect { try archive.write(to: url) } throws: { error in
            "\(error)".contains("parameter.output.bias") && "\(error)".contains("non-finite")
        }
        #expect(try Data(contentsOf: url) == good, "the last good model is untouched")
    }

    /// The fast ranking path agrees with the model's own forward pass.
    @Test(arguments: [false, true])
    func candidateRankerAgreesWithTheModel(modulation: Bool) {
        var configuration = world.model().configuration
        configuration.modulation = modulation
        let model = MeLUModel(configuration: configuration, users: world.model().users, items: world.model().items)
        var random = SeededGenerator(seed: 4)
        let parameters = model.initialParameters(using: &random)
        let task = world.userCold[0]
        let fast = model.adaptForInference(
            parameters, to: task, rule: AdaptationRule(partition: .decisionLayers, steps: 3, learningRate: 0.05))
        let candidates = Array(0..<Int32(world.split.itemFeatures.count))
        let ranker = CandidateRanker(
            model: model, parameters: parameters, items: world.features.items, candidates: candidates)
        let user = model.userRepresentation(task.userBatch, parameters: fast)
        let fastScores = ranker.scores(userRepresentation: user, parameters: fast)
        let reference = model.predict(
            user: task.userBatch, items: EntityBatch(world.features.items, entities: candidates), parameters: fast
        ).denseValues
        for (a, b) in zip(fastScores, reference) { #expect(abs(a - b) < 1e-4) }

        let excluded = Set(task.supportItemIDs)
        let top = ranker.rank(userRepresentation: user, parameters: fast, count: 5, excluding: excluded)
        let expected = candidates.filter { !excluded.contains($0) }.sorted { reference[Int($0)] > reference[Int($1)] }
            .prefix(5)
        #expect(top.map(\.item) == Array(expected))
    }
}
