import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct TaNPTests {
    let world = SmallWorld.shared

    func tiny(seed: UInt64 = 4) -> TaNP {
        var configuration = TaNP.Configuration()
        configuration.embeddingSize = 3
        configuration.encoderSize = 4
        configuration.representationSize = 3
        configuration.decoderSize = 5
        configuration.outputBias = world.globalMean
        configuration.seed = seed
        let tanp = TaNP(
            configuration: configuration, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures))
        // FiLM starts near the identity; make it bite so its gradients are exercised.
        var random = SeededGenerator(seed: seed)
        for name in ["film.scale.weight", "film.shift.weight"] {
            let tensor = tanp.parameters.tensor(name)
            tensor.values = tensor.values.map { _ in random.normal(mean: 0, standardDeviation: 0.5) }
        }
        return tanp
    }

    /// The query loss's gradient with respect to every kind of parameter (encoder, FiLM,
    /// decoder, embeddings) equals central finite differences.
    @Test func gradientsMatchFiniteDifferences() throws {
        let tanp = tiny()
        let task = try #require(world.userCold.first { $0.supportCount >= 3 })
        let names =
            [
                "encoder.0.weight", "encoder.1.bias", "film.scale.weight", "film.shift.bias", "decoder.user.weight",
                "decoder.item.weight", "output.weight", "output.bias",
            ] + tanp.parameters.names.filter { $0.hasPrefix("user.") }.prefix(1)
        let tensors = names.map { tanp.parameters.tensor($0) }
        let analytic = gradients(of: tanp.loss(task, tanp.parameters), withRespectTo: tensors)
        for (slot, tensor) in tensors.enumerated() {
            for element in Set([0, tensor.count / 2, tensor.count - 1]) {
                func objective(_ delta: Float) -> Double {
                    let original = tensor.values[element]
                    tensor.values[element] = original + delta
                    defer { tensor.values[element] = original }
                    return Double(GradientMode.withoutRecording { tanp.loss(task, tanp.parameters) }.scalar)
                }
                let numeric = (objective(1e-3) - objective(-1e-3)) / 2e-3
                let value = Double(analytic[slot].denseValues[element])
                #expect(
                    abs(value - numeric) < 3e-3 + 3e-2 * abs(numeric),
                    "\(names[slot])[\(element)]: analytic \(value), numeric \(numeric)")
            }
        }
    }

    /// Adaptation is the support's effect through the task representation: changing a support
    /// rating changes the predictions; with no support the user's features still matter.
    @Test func supportAndUserFeaturesShapeThePrediction() throws {
        let tanp = tiny()
        let task = try #require(world.userCold.first { $0.supportCount >= 3 })
        let before = tanp.predict(task)
        var changed = task
        changed.supportTargets = Tensor(
            shape: task.supportTargets.shape, values: task.supportTargets.values.map { 6 - $0 })
        #expect(tanp.predict(changed) != before)
        var empty = task
        empty.supportItems = EntityBatch(world.features.items, entities: [])
        empty.supportTargets = Tensor(shape: [0, 1], values: [])
        let prior = tanp.predict(empty)
        #expect(prior != before)
        #expect(
            world.userCold.contains { other in
                var someoneElse = empty
                someoneElse.userBatch = other.userBatch
                return tanp.predict(someoneElse) != prior
            }, "K = 0 predictions must read the user's features")
    }

    /// The catalogue ranker's fast path gives the same scores as the model.
    @Test func rankerMatchesPredict() throws {
        let tanp = tiny()
        let task = try #require(world.userCold.first { $0.supportCount >= 3 })
        let ranker = TaNPRanker(tanp, items: world.features.items, candidates: task.queryItemIDs)
        let fast = ranker.scores(task)
        let slow = tanp.predict(task)
        for (a, b) in zip(fast, slow) { #expect(abs(a - b) < 1e-4) }
    }

    /// Training beats the best simple baseline on user-cold tasks of the small world.
    @Test func trainingLearnsNewUsers() throws {
        var configuration = TaNP.Configuration()
        configuration.embeddingSize = 8
        configuration.maxEpochs = 10
        configuration.itemIDEmbedding = true
        configuration.outputBias = world.globalMean
        let tanp = TaNP(
            configuration: configuration, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures))
        let untrained = world.userColdMAE(tanp)
        try tanp.fit(training: world.split.warmRatingsByUser(), validation: world.validation, features: world.features)
        let trained = world.userColdMAE(tanp)
        #expect(
            trained < untrained && trained < world.bestBaselineMAE,
            "TaNP \(trained), untrained \(untrained), best baseline \(world.bestBaselineMAE)")
    }
}
