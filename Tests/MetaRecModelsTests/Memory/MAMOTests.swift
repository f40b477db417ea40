import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct MAMOTests {
    let world = SmallWorld.shared

    /// A small MAMO whose memories are random and whose bias scale is large, so that every
    /// path through the memories changes the loss.
    func tiny(order: MetaGradientOrder = .second, seed: UInt64 = 5) -> MAMO {
        var training = MetaTrainingOptions()
        training.order = order
        training.adaptation.steps = 2
        training.adaptation.learningRate = 0.1
        training.seed = seed
        var configuration = MAMO.Configuration(training: training)
        configuration.biasScale = 0.5
        let mamo = MAMO(model: world.model(embedding: 3, hidden: [4]), configuration: configuration)
        var random = SeededGenerator(seed: seed)
        mamo.memory.preferences = mamo.memory.preferences.map { _ in random.normal(mean: 0, standardDeviation: 0.3) }
        for name in mamo.memory.biases.keys.sorted() {
            mamo.memory.biases[name] = mamo.memory.biases[name]!.map { _ in
                random.normal(mean: 0, standardDeviation: 0.5)
            }
        }
        return mamo
    }

    /// With two slots, the attention is the softmax of the cosine similarities and a read is the
    /// attention-weighted sum of the slots; a write blends a ⊗ value in at the given rate.
    @Test func memoryReadIsAnAttentionWeightedSum() {
        var random = SeededGenerator(seed: 1)
        var memory = MAMOMemory(
            slots: 2, profileWidth: 2, biasShapes: ["b": [2]], preferenceShape: [1, 2], using: &random)
        memory.profiles = [3, 0, 0, 2]  // unit rows (1, 0) and (0, 1)
        memory.biases["b"] = [1, 2, 3, 4]
        memory.preferences = [10, 20, 30, 40]
        let profile = Tensor(shape: [1, 2], values: [0.6, 0.8])  // cosines 0.6 and 0.8
        let first = Foundation.exp(Float(0.6)) / (Foundation.exp(Float(0.6)) + Foundation.exp(Float(0.8)))
        let second = 1 - first
        let attention = memory.attention(profile).denseValues
        #expect(abs(attention[0] - first) < 1e-5 && abs(attention[1] - second) < 1e-5, "\(attention)")
        let bias = memory.bias("b", attention: memory.attention(profile)).denseValues
        #expect(abs(bias[0] - (first * 1 + second * 3)) < 1e-5 && abs(bias[1] - (first * 2 + second * 4)) < 1e-5)
        let offset = memory.preferenceOffset(attention: memory.attention(profile))
        #expect(offset.shape == [1, 2])
        #expect(abs(offset.denseValues[1] - (first * 20 + second * 40)) < 1e-4)

        memory.write(
            .init(attention: [0.25, 0.75], profile: [4, 8], biasGradients: ["b": [1, 1]], preferenceOffset: nil),
            profileRate: 0.5, biasRate: 0.1, preferenceRate: 0.1)
        // Slot k becomes (1 − rate)·m_k + rate·a_k·value.
        let expectedProfiles: [Float] = [2, 1, 1.5, 4]
        #expect(zip(memory.profiles, expectedProfiles).allSatisfy { abs($0 - $1) < 1e-5 }, "\(memory.profiles)")
        let expectedBiases: [Float] = [0.925, 1.825, 2.775, 3.675]
        #expect(zip(memory.biases["b"]!, expectedBiases).allSatisfy { abs($0 - $1) < 1e-5 })
        #expect(memory.preferences == [10, 20, 30, 40], "no preference offset, no write")
    }

    /// The attention's gradient with respect to the profile (through the cosine and the
    /// softmax) equals central finite differences.
    @Test func attentionGradientMatchesFiniteDifferences() {
        var random = SeededGenerator(seed: 2)
        let memory = MAMOMemory(slots: 3, profileWidth: 4, biasShapes: [:], preferenceShape: [1], using: &random)
        let profile = Tensor.normal([1, 4], standardDeviation: 1, using: &random, requiresGradient: true)
        let weights = Tensor(shape: [3], values: [1, -2, 0.5])
        func objective(_ p: Tensor) -> Tensor { (memory.attention(p) * weights).sum() }
        let analytic = gradients(of: objective(profile), withRespectTo: [profile])[0].denseValues
        for element in 0..<4 {
            func at(_ delta: Float) -> Double {
                var values = profile.denseValues
                values[element] += delta
                return Double(objective(Tensor(shape: [1, 4], values: values)).scalar)
            }
            let numeric = (at(1e-3) - at(-1e-3)) / 2e-3
            #expect(abs(Double(analytic[element]) - numeric) < 1e-3 + 1e-2 * abs(numeric), "\(element)")
        }
    }

    /// The training loss's gradient (exact second order through the local update, the
    /// memory-personalised start and the attention) with respect to the shared parameters equals
    /// central finite differences. The memories are written by rule, not trained by gradients.
    @Test func gradientsMatchFiniteDifferences() throws {
        let mamo = tiny()
        // A short support: the inner gradient jumps where a support row crosses a ReLU kink, so
        // fewer rows leave fewer jumps near the point.
        let cold = try #require(world.split.tasks(.userCold).first { $0.support.count >= 4 })
        let task = PreparedTask(cold.truncatedSupport(toEarliest: 4), features: world.features)
        let userTables = mamo.userEmbeddingNames
        let itemTable = try #require(mamo.parameters.names.first { $0.hasPrefix("item.") && $0 != "item.id.embedding" })
        let names =
            userTables + [
                itemTable, ParameterName.decisionWeight(0), ParameterName.decisionBias(0), ParameterName.outputWeight,
                ParameterName.outputBias,
            ]
        let tensors = names.map { mamo.parameters.tensor($0) }
        let analytic = gradients(of: mamo.loss(task), withRespectTo: tensors)
        var checked = 0
        for (slot, tensor) in tensors.enumerated() {
            let gradient = analytic[slot].denseValues
            // The rows the task reads (nonzero gradient) and a few fixed positions.
            let touched = gradient.indices.filter { gradient[$0] != 0 }.prefix(3)
            for element in Set([0, tensor.count - 1] + touched) {
                func objective(_ delta: Float) -> Double {
                    let original = tensor.values[element]
                    tensor.values[element] = original + delta
                    defer { tensor.values[element] = original }
                    return Double(mamo.loss(task).scalar)
                }
                // A small step: the ReLU layers have kinks that a wider one can straddle.
                let numeric = (objective(2.5e-4) - objective(-2.5e-4)) / 5e-4
                let value = Double(gradient[element])
                #expect(
                    abs(value - numeric) < 3e-3 + 3e-2 * abs(numeric),
                    "\(names[slot])[\(element)]: analytic \(value), numeric \(numeric)")
                checked += 1
            }
        }
        #expect(checked > 10)
        #expect(analytic.contains { $0.denseValues.contains { $0 != 0 } })
    }

    /// Training writes the memories, evaluation does not, and the trained model beats the
    /// global mean and the user mean on the small world's new users.
    @Test func trainingLearnsNewUsers() throws {
        var training = MetaTrainingOptions()
        training.maxEpochs = 8
        training.patience = 3
        training.metaBatchSize = 16
        training.outerLearningRate = 3e-3
        let mamo = MAMO(model: world.model(embedding: 8, hidden: [16]), configuration: .init(training: training))
        let initialMemory = mamo.memory
        try mamo.fit(training: world.split.warmRatingsByUser(), validation: world.validation, features: world.features)
        #expect(mamo.memory != initialMemory, "training writes the memories")
        let trainedMemory = mamo.memory
        let trained = world.userColdMAE(mamo)
        #expect(mamo.memory == trainedMemory, "evaluation never writes")
        let globalMean = world.userColdMAE(GlobalMean(training: world.warm))
        let userMean = world.userColdMAE(UserMean(fallback: world.globalMean))
        #expect(trained < globalMean && trained < userMean, "MAMO \(trained), global \(globalMean), user \(userMean)")
    }
}
