import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct MetaLearnerTests {
    let world = SmallWorld.shared

    func train(order: MetaGradientOrder, learnsRates: Bool = false, epochs: Int = 8) -> MetaLearner {
        var options = MetaTrainingOptions()
        options.order = order
        options.learnsInnerRates = learnsRates
        options.maxEpochs = epochs
        options.patience = epochs
        options.metaBatchSize = 16
        options.outerLearningRate = 5e-3
        options.adaptation = AdaptationRule(partition: .decisionLayers, steps: 3, learningRate: 0.05)
        let learner = MetaLearner(model: world.model(), options: options)
        try! learner.fit(
            training: world.split.warmRatingsByUser(), validation: world.validation, features: world.features)
        return learner
    }

    @Test func secondOrderMAMLBeatsEveryBaselineOnUserCold() {
        let learner = train(order: .second)
        let mae = world.userColdMAE(learner)
        #expect(mae < world.bestBaselineMAE - 0.03, "MAML user-cold MAE \(mae), best baseline \(world.bestBaselineMAE)")
    }

    @Test func firstOrderMAMLAndMetaSGDLearnToo() {
        let first = world.userColdMAE(train(order: .first))
        #expect(
            first < world.bestBaselineMAE - 0.02, "first-order MAML \(first), best baseline \(world.bestBaselineMAE)")
        let metaSGD = train(order: .second, learnsRates: true, epochs: 5)
        #expect(metaSGD.innerRates.count == 4, "one learned rate tensor per adaptive parameter")
        let rates = metaSGD.innerRates.values.flatMap(\.values)
        #expect(rates.contains { abs($0 - 0.05) > 1e-4 }, "Meta-SGD left its rates at their initial value")
        #expect(world.userColdMAE(metaSGD) < world.bestBaselineMAE, "Meta-SGD does not beat the baselines")
    }

    /// The learner's meta-gradient for the real model equals central finite differences of the
    /// post-adaptation query loss: the integration of model, partition and autodiff is exact.
    @Test func metaGradientOfTheModelMatchesFiniteDifferences() {
        var options = MetaTrainingOptions()
        options.adaptation = AdaptationRule(partition: .decisionLayers, steps: 2, learningRate: 0.3)
        options.threads = 1
        let model = world.model(embedding: 3, hidden: [4], itemIDs: false)
        let learner = MetaLearner(model: model, options: options)
        let task = world.validation[0]
        let exact = learner.metaGradient([task]).gradients
        let names = learner.parameters.names
        for (slot, name) in names.enumerated()
        where ["decision.0.weight", "output.bias", "item.genres.embedding"].contains(name) {
            let tensor = learner.parameters.tensor(name)
            for element in [0, tensor.count / 2] {
                func loss(_ delta: Float) -> Double {
                    let original = tensor.values[element]
                    tensor.values[element] = original + delta
                    defer { tensor.values[element] = original }
                    return Double(learner.queryLoss(task).scalar)
                }
                // A small step: relu kinks lie within 1e-3 of some points.
                let numeric = (loss(5e-4) - loss(-5e-4)) / 1e-3
                #expect(
                    abs(Double(exact[slot][element]) - numeric) < 3e-3 + 3e-2 * abs(numeric),
                    "\(name)[\(element)]: exact \(exact[slot][element]), numeric \(numeric)")
            }
        }
    }

    @Test func adaptationChangesOnlyTheAdaptivePart() {
        let model = world.model()
        var random = SeededGenerator(seed: 0)
        let parameters = model.initialParameters(using: &random)
        let task = world.validation[1]
        let fast = model.adaptForInference(
            parameters, to: task, rule: AdaptationRule(partition: .lastLayer, steps: 3, learningRate: 0.1))
        for name in parameters.names {
            let changed = fast.tensor(name).denseValues != parameters.tensor(name).denseValues
            #expect(changed == name.hasPrefix("output."), "\(name) changed: \(changed)")
        }
        #expect(model.scoreQuery(task, parameters: parameters) != model.scoreQuery(task, parameters: fast))
    }

    @Test func partitionsNameTheirParameters() {
        let names = world.model().initialParameters(using: &SeededGeneratorBox.shared.random).names
        #expect(
            ParameterPartition.decisionLayers.adaptive(names).allSatisfy {
                $0.hasPrefix("decision.") || $0.hasPrefix("output.")
            })
        #expect(ParameterPartition.lastLayer.adaptive(names) == ["output.weight", "output.bias"])
        #expect(ParameterPartition.all.adaptive(names) == names)
        #expect(ParameterPartition(parsing: "item.,output.bias") == .named(["item.", "output.bias"]))
        #expect(ParameterPartition.named(["item."]).adaptive(names).allSatisfy { $0.hasPrefix("item.") })
    }
}

final class SeededGeneratorBox: @unchecked Sendable {
    static let shared = SeededGeneratorBox()
    var random = SeededGenerator(seed: 0)
}
