import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// LWA and NLBA (Vartak et al., NeurIPS 2017): gradients, cold items, learning from the support.
@Suite(.serialized) struct ItemTaskAdaptationTests {
    let world = SmallWorld.shared

    /// A small click model over the shared world's features (ratings ≥ 4 are clicks).
    func clickModel() -> MeLUModel {
        MeLUModel(
            configuration: .init(embeddingSize: 3, hiddenSizes: [4], itemIDEmbedding: true, objective: .click),
            users: FeatureSpace(world.split.userFeatures), items: FeatureSpace(world.split.itemFeatures))
    }

    var clicks: [Interaction] {
        world.warm.map {
            Interaction(user: $0.user, item: $0.item, value: $0.value >= 4 ? 1 : 0, timestamp: $0.timestamp)
        }
    }

    /// Three warm items: one with K support users, one cold (no support) and one with K; K query users each.
    func batch(_ method: any ItemTaskAdaptation, k: Int = 4) -> ItemTaskBatch {
        var byItem: [Int32: [Interaction]] = [:]
        for x in clicks { byItem[x.item, default: []].append(x) }
        let items = Array(byItem.keys.filter { byItem[$0]!.count >= 2 * k }.sorted().prefix(3))
        return method.batch(
            items: items,
            support: items.enumerated().map { slot, item in slot == 1 ? [] : Array(byItem[item]![..<k]) },
            query: items.map { Array(byItem[$0]![k..<(2 * k)]) }, features: world.features)
    }

    func methods() throws -> [any ItemTaskAdaptation] {
        let model = clickModel()
        var random = SeededGenerator(seed: 5)
        let base = model.initialParameters(using: &random)
        var options = MetaEmbeddingOptions(k: 4)
        options.seed = 2
        let methods: [any ItemTaskAdaptation] = [
            try LinearWeightAdaptation(model: model, base: base, width: 5, options: options),
            try NonlinearBiasAdaptation(model: model, base: base, width: 5, hiddenSizes: [6, 4], options: options),
        ]
        // Perturb every parameter (the user-id rows start at zero) so no gradient vanishes by symmetry.
        // NLBA's hidden biases lean positive so that few of its small layers' units are dead.
        for method in methods {
            for name in method.parameters.names {
                let shift: Float = name.hasPrefix("nlba.layer") && name.hasSuffix(".bias") ? 0.5 : 0
                let tensor = method.parameters.tensor(name)
                tensor.values = tensor.values.map { $0 + shift + random.normal(mean: 0, standardDeviation: 0.3) }
            }
        }
        return methods
    }

    /// The gradient of each method's episode objective (cold and warm parts) with respect to every
    /// parameter equals central finite differences.
    @Test func gradientsMatchFiniteDifferences() throws {
        for method in try methods() {
            let episode = batch(method)
            let names = method.parameters.names
            let tensors = names.map { method.parameters.tensor($0) }
            let analytic = gradients(of: method.objective(episode).objective, withRespectTo: tensors)
            var checked = 0
            var nonZero = 0
            for (slot, tensor) in tensors.enumerated() {
                var elements = Set([0, tensor.count / 2, tensor.count - 1])
                if names[slot] == ItemTaskParameters.userEmbeddingName {
                    // Rows of users in the episode: the others' gradients are zero both ways.
                    let width = tensor.shape[1]
                    let user = Int(episode.query.users.indices[0])
                    let supportUser = Int(episode.support.users.indices[0])
                    elements = [user * width, user * width + width - 1, supportUser * width + 1]
                }
                for element in elements {
                    func objective(_ delta: Float) -> Double {
                        let original = tensor.values[element]
                        tensor.values[element] = original + delta
                        defer { tensor.values[element] = original }
                        return Double(GradientMode.withoutRecording { method.objective(episode).objective.scalar })
                    }
                    let numeric = (objective(3e-4) - objective(-3e-4)) / 6e-4
                    let exact = Double(analytic[slot].denseValues[element])
                    #expect(
                        abs(exact - numeric) < 2e-3 + 3e-2 * abs(numeric),
                        "\(method.name) \(names[slot])[\(element)]: analytic \(exact), numeric \(numeric)")
                    checked += 1
                    if abs(numeric) > 1e-4 { nonZero += 1 }
                }
            }
            #expect(
                nonZero >= checked * 2 / 3,
                "\(method.name): too few non-zero gradients (\(nonZero) of \(checked)): the check would prove little")
        }
    }

    /// A cold item (no support) reads the learned default representatives, and a support changes its scores.
    @Test func coldItemsUseTheDefaults() throws {
        for method in try methods() {
            let episode = batch(method)
            let nobody = ItemTaskRows(
                userBlocks: Tensor.zeros([0, method.model.userRepresentationWidth]), users: [], slots: [], labels: [])
            let (negative, positive) = method.representatives(nobody, items: 3)
            let defaults =
                method.parameters.tensor(ItemTaskParameters.defaultNegativeName).denseValues
                + method.parameters.tensor(ItemTaskParameters.defaultPositiveName).denseValues
            for slot in 0..<3 {
                let width = negative.shape[1]
                let row =
                    Array(negative.denseValues[(slot * width)..<((slot + 1) * width)])
                    + Array(positive.denseValues[(slot * width)..<((slot + 1) * width)])
                #expect(row == defaults, "\(method.name): cold slot \(slot) should read the defaults")
            }
            let cold = method.logits(episode, support: nobody).denseValues
            let k = 4
            let warm = method.logits(episode).denseValues
            #expect(Array(warm[..<k]) != Array(cold[..<k]), "\(method.name): the support must change the scores")
            #expect(warm.allSatisfy { $0.isFinite } && cold.allSatisfy { $0.isFinite })
        }
    }
}
