import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct MetaEmbeddingTests {
    let world = SmallWorld.shared

    /// A tiny base model with non-zero ID embeddings, and a batch of two warm items.
    func fixture(k: Int = 3, inner: Float = 0.5) throws -> (MetaEmbeddingGenerator, MetaEmbeddingBatch) {
        let model = world.model(embedding: 3, hidden: [4], itemIDs: true)
        var random = SeededGenerator(seed: 5)
        let base = model.initialParameters(using: &random)
        let table = base.tensor(MeLUModel.itemIDEmbeddingName)
        table.values = table.values.map { _ in random.normal(mean: 0, standardDeviation: 0.3) }
        var options = MetaEmbeddingOptions(k: k, innerLearningRate: inner)
        options.seed = 1
        let generator = try MetaEmbeddingGenerator(model: model, base: base, options: options, scale: 0.4)
        var byItem: [Int32: [Interaction]] = [:]
        for x in world.warm { byItem[x.item, default: []].append(x) }
        let items = byItem.keys.filter { byItem[$0]!.count >= 2 * k }.sorted().prefix(2)
        let batch = generator.batch(
            items: Array(items), cold: items.map { Array(byItem[$0]![..<k]) },
            warm: items.map { Array(byItem[$0]![k..<(2 * k)]) }, features: world.features)
        return (generator, batch)
    }

    /// The second-order meta-gradient equals central finite differences of the objective; the
    /// first-order shortcut (no gradient through the inner step) does not.
    @Test func metaGradientMatchesFiniteDifferences() throws {
        let (generator, batch) = try fixture()
        let weight = generator.parameters.tensor(MetaEmbeddingGenerator.weightName)
        let bias = generator.parameters.tensor(MetaEmbeddingGenerator.biasName)
        let exact = gradients(of: generator.objective(batch).objective, withRespectTo: [weight, bias])
        let firstOrder = gradients(
            of: generator.objective(batch, createGraph: false).objective, withRespectTo: [weight, bias])
        var worstExact = 0.0
        var worstFirstOrder = 0.0
        for (slot, tensor) in [weight, bias].enumerated() {
            for element in Set([0, tensor.count / 2, tensor.count - 1]) {
                func objective(_ delta: Float) -> Double {
                    let original = tensor.values[element]
                    tensor.values[element] = original + delta
                    defer { tensor.values[element] = original }
                    return Double(generator.objective(batch, createGraph: false).objective.scalar)
                }
                let numeric = (objective(1e-3) - objective(-1e-3)) / 2e-3
                let error = abs(Double(exact[slot].denseValues[element]) - numeric)
                worstExact = max(worstExact, error / (1e-3 + abs(numeric)))
                worstFirstOrder = max(
                    worstFirstOrder,
                    abs(Double(firstOrder[slot].denseValues[element]) - numeric) / (1e-3 + abs(numeric)))
                #expect(
                    error < 2e-3 + 3e-2 * abs(numeric),
                    "element \(element) of parameter \(slot): exact \(exact[slot].denseValues[element]), numeric \(numeric)"
                )
            }
        }
        #expect(
            worstFirstOrder > 3 * worstExact,
            "the first-order gradient is as close as the exact one (\(worstFirstOrder) vs \(worstExact)): the test cannot tell them apart"
        )
    }

    @Test func generatedEmbeddingsHaveTheRightShapeAndScale() throws {
        let (generator, _) = try fixture()
        let embeddings = generator.embeddings(for: [0, 1, 2, 3], features: world.features.items)
        #expect(embeddings.shape == [4, 3])
        #expect(embeddings.values.allSatisfy { abs($0) <= 0.4 })
        #expect(!embeddings.requiresGradient)
    }

    @Test func badOptionsAreRejected() throws {
        let model = world.model(embedding: 3, hidden: [4], itemIDs: true)
        var random = SeededGenerator(seed: 0)
        let base = model.initialParameters(using: &random)
        for bad in [0, -2] {
            #expect(throws: MetaEmbeddingError.self) {
                try MetaEmbeddingGenerator(model: model, base: base, options: MetaEmbeddingOptions(k: bad), scale: 0.1)
            }
        }
        #expect(throws: MetaEmbeddingError.self) {
            try MetaEmbeddingGenerator(
                model: model, base: base, options: MetaEmbeddingOptions(metaBatchSize: 0), scale: 0.1)
        }
        #expect(throws: MetaEmbeddingError.self) { try MetaEmbeddingGenerator(model: model, base: base, scale: 0) }
        let plain = world.model(embedding: 3, hidden: [4], itemIDs: false)
        #expect(throws: MetaEmbeddingError.self) {
            try MetaEmbeddingGenerator(model: plain, base: plain.initialParameters(using: &random), scale: 0.1)
        }
        // Too few items with 2K interactions: an error, not a crash.
        let generator = try MetaEmbeddingGenerator(
            model: model, base: base, options: MetaEmbeddingOptions(k: 10_000), scale: 0.1)
        #expect(throws: MetaEmbeddingError.self) { try generator.fit(training: world.warm, features: world.features) }
    }

    /// The generator leaves the base model alone: training moves only its own parameters.
    @Test func trainingMovesOnlyTheGenerator() throws {
        let model = world.model(embedding: 4, hidden: [8], itemIDs: true)
        var random = SeededGenerator(seed: 2)
        let base = model.initialParameters(using: &random)
        let before = base.names.map { base.tensor($0).denseValues }
        var options = MetaEmbeddingOptions(k: 5, epochs: 1)
        options.validationFraction = 0.2
        let generator = try MetaEmbeddingGenerator(model: model, base: base, options: options, scale: 0.1)
        let weight = generator.parameters.tensor(MetaEmbeddingGenerator.weightName).denseValues
        let summary = try generator.fit(training: world.warm, features: world.features)
        #expect(summary.validationObjective.count == 2)
        #expect(summary.trainingItems > 0 && summary.validationItems > 0)
        #expect(base.names.map { base.tensor($0).denseValues } == before)
        #expect(
            generator.parameters.tensor(MetaEmbeddingGenerator.weightName).denseValues != weight
                || summary.bestEpoch == 0)
    }
}
