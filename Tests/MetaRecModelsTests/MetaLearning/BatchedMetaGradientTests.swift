import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// The batched meta-gradient (tasks stacked, the first layer's steps through the support rows'
/// Gram matrix) against the task-by-task path it replaces, and against finite differences.
@Suite struct BatchedMetaGradientTests {
    let world = SmallWorld.shared

    /// Validation tasks with supports of many sizes (none, one, a few, all), so that groups pad.
    func mixedTasks(_ count: Int, clicks: Bool = false) -> [PreparedTask] {
        let sizes = [0, 1, 3, 5, 8, 1000]
        return world.split.tasks(.validation).prefix(count).enumerated().map { index, task in
            var prepared = PreparedTask(
                task.truncatedSupport(toEarliest: sizes[index % sizes.count]), features: world.features)
            if clicks {
                prepared.supportTargets = Tensor(
                    shape: prepared.supportTargets.shape, values: prepared.supportTargets.values.map { $0 >= 4 ? 1 : 0 }
                )
                prepared.queryTargets = Tensor(
                    shape: prepared.queryTargets.shape, values: prepared.queryTargets.values.map { $0 >= 4 ? 1 : 0 })
            }
            return prepared
        }
    }

    func learner(
        order: MetaGradientOrder, threads: Int, objective: Objective = .rating, hidden: [Int] = [16, 8],
        learnsRates: Bool = false
    ) -> MetaLearner {
        var options = MetaTrainingOptions()
        options.order = order
        options.learnsInnerRates = learnsRates
        options.threads = threads
        options.adaptation = AdaptationRule(partition: .decisionLayers, steps: 3, learningRate: 0.1)
        var model = world.model(embedding: 4, hidden: hidden)
        model.configuration.objective = objective
        if objective == .click { model.configuration.outputBias = 0 }
        let learner = MetaLearner(model: model, options: options)
        // Rates that differ by element, as after some Meta-SGD training.
        var random = SeededGenerator(seed: 4)
        for rate in learner.innerRates.values {
            for index in rate.values.indices { rate.values[index] *= Float(0.5 + random.uniform()) }
        }
        return learner
    }

    func expectSameGradients(_ learner: MetaLearner, _ tasks: [PreparedTask], _ what: String) {
        #expect(learner.runsBatched, "\(what): the batched path applies")
        let batched = learner.metaGradient(tasks)
        learner.batchesTasks = false
        defer { learner.batchesTasks = true }
        #expect(!learner.runsBatched)
        let reference = learner.metaGradient(tasks)
        #expect(abs(batched.loss - reference.loss) <= 1e-5 * max(1, abs(reference.loss)), "\(what): loss")
        let names = learner.parameters.names + learner.innerRates.keys.sorted().map { "rate of \($0)" }
        #expect(names.count == reference.gradients.count)
        for (slot, name) in names.enumerated() {
            let scale = max(1e-3, reference.gradients[slot].map(abs).max() ?? 0)
            let worst = zip(batched.gradients[slot], reference.gradients[slot]).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * max(1, scale), "\(what): \(name) differs by \(worst) (scale \(scale))")
        }
    }

    @Test(arguments: [MetaGradientOrder.second, .first], [1, 2])
    func batchedEqualsTaskByTaskForRatings(order: MetaGradientOrder, threads: Int) {
        // 40 tasks: more than one group per thread, each padded to its longest support.
        expectSameGradients(
            learner(order: order, threads: threads), mixedTasks(40), "\(order) order, \(threads) thread(s)")
    }

    @Test(arguments: [MetaGradientOrder.second, .first])
    func batchedEqualsTaskByTaskForClicksAndOneHiddenLayer(order: MetaGradientOrder) {
        expectSameGradients(
            learner(order: order, threads: 2, objective: .click, hidden: [8]), mixedTasks(12, clicks: true),
            "\(order) order, clicks")
    }

    @Test(arguments: [MetaGradientOrder.second, .first])
    func batchedEqualsTaskByTaskForMetaSGD(order: MetaGradientOrder) {
        let learner = learner(order: order, threads: 2, learnsRates: true)
        #expect(learner.innerRates.count == 6)
        expectSameGradients(learner, mixedTasks(20), "Meta-SGD, \(order) order")
    }

    /// Finite differences of the batched loss itself, at a few elements of a shared weight, a
    /// first-layer weight and an embedding table (second order, tasks of different sizes).
    @Test func batchedLossMatchesFiniteDifferences() {
        let learner = learner(order: .second, threads: 1, hidden: [4])
        let tasks = mixedTasks(6)
        let loss = learner.batchedQueryLossSum(tasks)
        let names = learner.parameters.names
        let exact = gradients(of: loss, withRespectTo: learner.parameters.tensors)
        for (slot, name) in names.enumerated()
        where ["decision.0.weight", "output.weight", "item.genres.embedding"].contains(name) {
            let tensor = learner.parameters.tensor(name)
            let dense = exact[slot].denseValues
            for element in [0, tensor.count / 3, tensor.count - 1] {
                func value(_ delta: Float) -> Double {
                    let original = tensor.values[element]
                    tensor.values[element] = original + delta
                    defer { tensor.values[element] = original }
                    return Double(learner.batchedQueryLossSum(tasks).scalar)
                }
                let numeric = (value(5e-4) - value(-5e-4)) / 1e-3
                #expect(
                    abs(Double(dense[element]) - numeric) < 3e-3 + 3e-2 * abs(numeric),
                    "\(name)[\(element)]: exact \(dense[element]), numeric \(numeric)")
            }
        }
    }

    @Test func otherPartitionsAndModulationRunTaskByTask() {
        var options = MetaTrainingOptions()
        options.adaptation = AdaptationRule(partition: .lastLayer, steps: 2, learningRate: 0.1)
        #expect(!MetaLearner(model: world.model(), options: options).runsBatched)
        options.adaptation = AdaptationRule(partition: .decisionLayers, steps: 2, learningRate: 0.1)
        #expect(MetaLearner(model: world.model(), options: options).runsBatched)
        var modulated = world.model()
        modulated.configuration.modulation = true
        #expect(!MetaLearner(model: modulated, options: options).runsBatched)
        // A ranking term in the query loss is not in the batched loss: those run task by task.
        options.ranking = RankingLoss(objective: .bpr, relevantAt: 4)
        #expect(!MetaLearner(model: world.model(), options: options).runsBatched)
    }

    @Test func groupsAreSortedBySupportAndDealtToThreads() {
        let sizes = [9, 1, 5, 3, 7, 2]
        let groups = MetaLearner.batchedGroups(supportSizes: sizes, threads: 2)
        #expect(groups.count == 2)
        #expect(groups.flatMap { $0.flatMap { $0 } }.sorted() == Array(0..<6), "every task exactly once")
        for group in groups.flatMap({ $0 }) {
            let groupSizes = group.map { sizes[$0] }
            #expect(groupSizes == groupSizes.sorted())
        }
    }
}
