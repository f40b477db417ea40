import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct MWUFTests {
    let world = SmallWorld.shared

    /// A tiny base model with non-zero ID embeddings, a warmer with non-trivial networks, and a
    /// batch of three warm items (first users a, scored interactions b).
    func fixture(k: Int = 3) throws -> (MetaWarmUp, MetaEmbeddingBatch) {
        let model = world.model(embedding: 3, hidden: [4], itemIDs: true)
        var random = SeededGenerator(seed: 5)
        let base = model.initialParameters(using: &random)
        let table = base.tensor(MeLUModel.itemIDEmbeddingName)
        table.values = table.values.map { _ in random.normal(mean: 0, standardDeviation: 0.3) }
        var options = MetaEmbeddingOptions(k: k)
        options.seed = 2
        let warmer = try MetaWarmUp(model: model, base: base, coldEmbedding: [0.2, -0.1, 0.3], options: options)
        for tensor in warmer.parameters.tensors {
            tensor.values = tensor.values.map { $0 + random.normal(mean: 0, standardDeviation: 0.2) }
        }
        var byItem: [Int32: [Interaction]] = [:]
        for x in world.warm { byItem[x.item, default: []].append(x) }
        let items = Array(byItem.keys.filter { byItem[$0]!.count >= 2 * k }.sorted().prefix(3))
        let batch = warmer.batch(
            items: items, first: items.map { Array(byItem[$0]![..<k]) },
            scored: items.map { Array(byItem[$0]![k..<(2 * k)]) }, features: world.features)
        return (warmer, batch)
    }

    /// The gradient of MWUF's objective with respect to both meta networks equals central finite differences.
    @Test func gradientMatchesFiniteDifferences() throws {
        let (warmer, batch) = try fixture()
        let names = [
            MetaWarmUp.scaleWeightName, MetaWarmUp.scaleBiasName, MetaWarmUp.shiftWeightName, MetaWarmUp.shiftBiasName,
        ]
        let tensors = names.map { warmer.parameters.tensor($0) }
        let analytic = gradients(of: warmer.objective(batch).objective, withRespectTo: tensors)
        var checked = 0
        var nonZero = 0
        for (slot, tensor) in tensors.enumerated() {
            for element in Set([0, tensor.count / 3, tensor.count / 2, tensor.count - 1]) {
                func objective(_ delta: Float) -> Double {
                    let original = tensor.values[element]
                    tensor.values[element] = original + delta
                    defer { tensor.values[element] = original }
                    return Double(GradientMode.withoutRecording { warmer.objective(batch).objective.scalar })
                }
                let numeric = (objective(2e-4) - objective(-2e-4)) / 4e-4
                let exact = Double(analytic[slot].denseValues[element])
                #expect(
                    abs(exact - numeric) < 2e-3 + 3e-2 * abs(numeric),
                    "\(names[slot])[\(element)]: analytic \(exact), numeric \(numeric)")
                checked += 1
                if abs(numeric) > 1e-4 { nonZero += 1 }
            }
        }
        #expect(
            nonZero >= checked / 2,
            "too few non-zero gradients (\(nonZero) of \(checked)): the check would prove little")
    }

    /// Before anyone has interacted the shift is ω(0) = b_ω; with users it depends on them.
    @Test func shiftUsesTheFirstUsers() throws {
        let (warmer, batch) = try fixture()
        let n = batch.items.count
        let e = warmer.coldEmbedding.reshaped([1, 3])
        let cold = warmer.warm(
            itemFeatures: batch.itemFeatures, embeddings: e,
            meanUsers: Tensor.zeros([n, warmer.model.userRepresentationWidth]))
        let warm = warmer.warm(
            itemFeatures: batch.itemFeatures, embeddings: e, meanUsers: MetaWarmUp.meanUsers(batch.cold, items: n))
        #expect(cold.shape == [n, 3] && warm.shape == [n, 3])
        #expect(cold.denseValues != warm.denseValues)
        // The mean user of slot 0 is the mean of its first K rows of user blocks.
        let means = MetaWarmUp.meanUsers(batch.cold, items: n).denseValues
        let width = batch.cold.userPart.shape[1]
        let rows = batch.cold.userPart.denseValues
        let expected = (0..<width).map { j in (0..<3).reduce(Float(0)) { $0 + rows[$1 * width + j] } / 3 }
        for j in 0..<width { #expect(abs(means[j] - expected[j]) < 1e-5) }
    }

    /// Gradient steps on a fixed batch lower its objective, and fitting moves only the warmer, never the base model.
    @Test func stepsLowerTheObjectiveAndLeaveTheBaseModel() throws {
        let (warmer, batch) = try fixture()
        let before = warmer.objective(batch).objective.scalar
        let optimizer = Adam(groups: [ParameterGroup(warmer.parameters.tensors, learningRate: 1e-2)])
        for _ in 0..<20 {
            let tensors = warmer.parameters.tensors
            optimizer.step(Gradients(tensors, gradients(of: warmer.objective(batch).objective, withRespectTo: tensors)))
        }
        #expect(warmer.objective(batch).objective.scalar < before - 1e-3)

        let model = world.model(embedding: 4, hidden: [8], itemIDs: true)
        let network = PretrainedNetwork(
            model: model,
            options: {
                var o = PretrainedNetwork.Options()
                o.maxEpochs = 2
                return o
            }())
        try network.fit(training: world.warm, validation: world.validation, features: world.features)
        let base = network.parameters.copied()
        var options = MetaEmbeddingOptions(k: 5, epochs: 2)
        options.seed = 1
        let statistics = MetaEmbeddingGenerator.idEmbeddingStatistics(
            network.parameters, items: Array(Set(world.warm.map(\.item))))
        let fitted = try MetaWarmUp(
            model: model, base: network.parameters, coldEmbedding: statistics.mean, options: options)
        let summary = try fitted.fit(training: world.warm, features: world.features)
        #expect(summary.epochsRun == 2 && summary.validationObjective.count == 3)
        #expect(summary.validationObjective[summary.bestEpoch] == summary.validationObjective.min())
        for name in base.names { #expect(base.tensor(name).denseValues == network.parameters.tensor(name).denseValues) }
    }
}
