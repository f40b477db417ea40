import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct OnlineMetaLearnerTests {
    let world = SmallWorld.shared

    /// Offline meta-training on a third of the warm users, then the rest stream in: learning
    /// online from each user after predicting it must make later users' predictions better than
    /// leaving the offline initialisation alone, and only the adaptive part may change.
    @Test func theOnlineStageImprovesOnTheOfflineInitialisation() throws {
        let byUser = world.split.warmRatingsByUser().filter { $0.value.count >= 13 }
        let users = byUser.keys.sorted()
        let offlineUsers = Dictionary(uniqueKeysWithValues: users.prefix(users.count / 3).map { ($0, byUser[$0]!) })
        var options = MetaTrainingOptions()
        options.maxEpochs = 1
        options.metaBatchSize = 16
        options.outerLearningRate = 5e-3
        options.adaptation = AdaptationRule(partition: .decisionLayers, steps: 3, learningRate: 0.05)
        let offline = MetaLearner(model: world.model(), options: options)
        try offline.fit(training: offlineUsers, validation: [], features: world.features)

        var random = SeededGenerator(seed: 8)
        let stream = users.dropFirst(users.count / 3).map { user in
            offline.sampleTask(user: user, ratings: byUser[user]!, features: world.features, random: &random)
        }
        func run(updates: Bool) -> (later: Double, learner: MetaLearner) {
            let learner = MetaLearner(
                model: offline.model, options: offline.options, parameters: offline.parameters.copied())
            var online = OnlineMetaLearner.Options()
            online.updates = updates
            online.learningRate = 3e-3
            let stage = OnlineMetaLearner(offline: learner, options: online)
            var errors: [Double] = []
            for task in stream {
                let predictions = stage.process(task).predictions
                errors.append(
                    zip(predictions, task.queryTargets.values).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) }
                        / Double(task.queryCount))
            }
            let later = errors.suffix(errors.count / 2)
            return (later.reduce(0, +) / Double(later.count), learner)
        }
        let (offlineOnly, untouched) = run(updates: false)
        let (online, updated) = run(updates: true)
        #expect(online < offlineOnly - 0.01, "online \(online) vs offline only \(offlineOnly)")
        for name in offline.parameters.names {
            let changed = updated.parameters.tensor(name).values != offline.parameters.tensor(name).values
            #expect(changed == ParameterPartition.decisionLayers.adapts(name), "\(name) changed: \(changed)")
            #expect(untouched.parameters.tensor(name).values == offline.parameters.tensor(name).values)
        }
        let stage = OnlineMetaLearner(offline: updated, options: .init())
        let adaptive = offline.parameters.names.filter(ParameterPartition.decisionLayers.adapts)
        #expect(stage.bytesPerUser == adaptive.reduce(0) { $0 + offline.parameters.tensor($1).count } * 4)
    }

    /// The update is `(1 − w)·∇(new user) + w·mean ∇(replayed)`; with no weight every task counts
    /// alike, which is the weight `k / (k + 1)` for `k` replayed tasks.
    @Test func theReplayWeightSplitsTheUpdateBetweenTheNewUserAndTheReplayedOnes() throws {
        var options = MetaTrainingOptions()
        options.adaptation = AdaptationRule(partition: .decisionLayers, steps: 2, learningRate: 0.05)
        let learner = MetaLearner(model: world.model(), options: options)
        var random = SeededGenerator(seed: 3)
        let byUser = world.split.warmRatingsByUser().filter { $0.value.count >= 13 }
        let tasks = byUser.keys.sorted().prefix(4).map {
            learner.sampleTask(user: $0, ratings: byUser[$0]!, features: world.features, random: &random)
        }
        let (task, replayed) = (tasks[0], Array(tasks.dropFirst()))
        func stage(_ weight: Float?) -> OnlineMetaLearner {
            var online = OnlineMetaLearner.Options()
            online.replayWeight = weight
            return OnlineMetaLearner(offline: learner, options: online)
        }
        let targets = learner.parameters.tensors(stage(nil).adaptiveNames)
        let alone = learner.metaGradient([task], withRespectTo: targets).gradients
        let others = learner.metaGradient(replayed, withRespectTo: targets).gradients
        for weight: Float in [0, 0.25, 0.5] {
            let update = stage(weight).updateGradients(task, replayed: replayed)
            for slot in update.indices {
                for j in update[slot].indices {
                    let expected = (1 - weight) * alone[slot][j] + weight * others[slot][j]
                    #expect(abs(update[slot][j] - expected) <= 1e-6 * max(1, abs(expected)))
                }
            }
        }
        let alike = stage(nil).updateGradients(task, replayed: replayed)
        let threeQuarters = stage(0.75).updateGradients(task, replayed: replayed)
        var largest: Float = 0
        for slot in alike.indices {
            for j in alike[slot].indices {
                largest = max(largest, abs(alike[slot][j]))
                #expect(abs(alike[slot][j] - threeQuarters[slot][j]) <= 1e-5 * max(1, abs(alike[slot][j])))
            }
        }
        #expect(largest > 0, "a gradient of zeros would make the comparison empty")
        // Without replayed tasks the new user is the whole update, whatever the weight.
        #expect(stage(0.5).updateGradients(task, replayed: []) == alone)
    }

    /// A task whose gradient is not finite is not learned from: the start stays finite and as it
    /// was, the skip is counted, and the next good task updates as usual.
    @Test func aNonFiniteUpdateIsSkippedNotApplied() throws {
        var options = MetaTrainingOptions()
        options.adaptation = AdaptationRule(partition: .lastLayer, steps: 1, learningRate: 0.05)
        let learner = MetaLearner(model: world.model(), options: options)
        var random = SeededGenerator(seed: 4)
        let byUser = world.split.warmRatingsByUser().filter { $0.value.count >= 13 }
        let users = byUser.keys.sorted()
        let good = learner.sampleTask(
            user: users[0], ratings: byUser[users[0]]!, features: world.features, random: &random)
        var broken = good
        var targets = broken.queryTargets.values
        targets[0] = .nan
        broken.queryTargets = Tensor(shape: broken.queryTargets.shape, values: targets)
        var online = OnlineMetaLearner.Options()
        online.replayTasks = 0
        online.learningRate = 1e-2
        let stage = OnlineMetaLearner(offline: learner, options: online)
        let before = stage.adaptiveNames.map { learner.parameters.tensor($0).values }
        _ = stage.process(broken)
        #expect(stage.skippedUpdates == 1 && stage.updatesMade == 0)
        #expect(stage.adaptiveNames.map { learner.parameters.tensor($0).values } == before)
        _ = stage.process(good)
        #expect(stage.skippedUpdates == 1 && stage.updatesMade == 1)
        let after = stage.adaptiveNames.map { learner.parameters.tensor($0).values }
        #expect(after != before && after.allSatisfy { $0.allSatisfy(\.isFinite) })
    }

    /// Options written before the replay weight existed read as what those runs did.
    @Test func optionsWithoutAReplayWeightReadAsEveryTaskAlike() throws {
        var options = OnlineMetaLearner.Options()
        options.replayWeight = 0.25
        let written = try JSONEncoder().encode(options)
        #expect(try JSONDecoder().decode(OnlineMetaLearner.Options.self, from: written) == options)
        var older = try #require(try JSONSerialization.jsonObject(with: written) as? [String: Any])
        older["replayWeight"] = nil
        let read = try JSONDecoder().decode(
            OnlineMetaLearner.Options.self, from: JSONSerialization.data(withJSONObject: older))
        #expect(read.replayWeight == nil && read.replayTasks == options.replayTasks)
        #expect(OnlineMetaLearner.Options().replayWeight == 0.5)
    }

    @Test func modulationIsASmallPartOfTheModel() {
        var configuration = world.model().configuration
        configuration.modulation = true
        let model = MeLUModel(configuration: configuration, users: world.model().users, items: world.model().items)
        var random = SeededGenerator(seed: 1)
        let parameters = model.initialParameters(using: &random)
        let small = ParameterPartition.modulation.adaptive(parameters.names)
        #expect(small == ["modulation.0.scale", "modulation.0.shift"])
        // At its initial value (scale 1, shift 0) modulation changes nothing.
        let task = world.userCold[0]
        var plain = configuration
        plain.modulation = false
        let unmodulated = MeLUModel(configuration: plain, users: model.users, items: model.items)
        let without = ParameterSet(
            parameters.names.filter { !$0.hasPrefix("modulation.") }.map { ($0, parameters.tensor($0)) })
        #expect(model.scoreQuery(task, parameters: parameters) == unmodulated.scoreQuery(task, parameters: without))
        let fast = model.adaptForInference(
            parameters, to: task, rule: AdaptationRule(partition: .modulation, steps: 3, learningRate: 0.1))
        #expect(fast.tensor("modulation.0.scale").values != parameters.tensor("modulation.0.scale").values)
        #expect(fast.tensor("decision.0.weight").values == parameters.tensor("decision.0.weight").values)
    }
}
