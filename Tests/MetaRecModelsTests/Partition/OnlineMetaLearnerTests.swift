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
