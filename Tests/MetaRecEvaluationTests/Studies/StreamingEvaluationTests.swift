import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import Testing

@testable import MetaRecEvaluation

/// The streaming study's conditions on a small drift stream cut by arrival: offline only leaves
/// the start alone, replay draws from the buffer, the online rate is chosen on validation users.
@Suite(.serialized) struct StreamingEvaluationTests {
    static let experiment: Experiment = {
        let data = BuiltInData.synthetic(
            seed: 1, users: 400, items: 200, targetInteractions: 20_000, drift: SyntheticDrift())
        return try! Experiment(
            dataset: data.dataset, seed: 0, threads: 1, splitOptions: SplitOptions(userOrder: .arrival))
    }()

    static func metaTraining(_ partition: ParameterPartition) -> MetaTrainingOptions {
        var options = MetaTrainingOptions()
        options.maxEpochs = 1
        options.metaBatchSize = 16
        options.adaptation = AdaptationRule(partition: partition, steps: 2, learningRate: 0.05)
        return options
    }

    static let model = MeLUModel.Configuration(embeddingSize: 8, hiddenSizes: [16])

    /// The stream's users arrive after every meta-training user (the split is by time).
    @Test func theStreamComesAfterTheOfflinePeriod() {
        let experiment = Self.experiment
        let stream = experiment.streamingTasks(supportSize: 5, querySize: 5)
        #expect(stream.count > 20)
        var firstSeen: [Int32: Int64] = [:]
        for x in experiment.dataset.interactions { firstSeen[x.user] = min(firstSeen[x.user] ?? .max, x.timestamp) }
        let lastOffline = experiment.split.existingUsers.compactMap { firstSeen[$0] }.max()!
        let starts = stream.map { firstSeen[$0.user]! }
        #expect(starts.allSatisfy { $0 >= lastOffline })
        #expect(zip(starts, starts.dropFirst()).allSatisfy { $0 <= $1 })
    }

    /// A small stream of the last-layer partition: 5 rows to adapt on, 5 to score, 20 earlier users, 3 replayed.
    static func smallStream() -> StreamingOptions {
        var options = StreamingOptions()
        options.supportSize = 5
        options.querySize = 5
        options.earlierUsers = 20
        options.partitions = [.lastLayer]
        options.online.replayTasks = 3
        return options
    }

    /// Offline only makes no update (the start is unchanged, so earlier users score the same
    /// after the stream); with replay, every update draws `replayTasks` earlier tasks; without,
    /// none; the online rate is one of the candidates, chosen on validation users.
    @Test func theConditionsDoWhatTheySay() throws {
        var options = Self.smallStream()
        options.learningRateCandidates = [1e-4, 3e-3]
        let report = try Self.experiment.streamingEvaluation(
            options: options, metaTraining: Self.metaTraining(.lastLayer), model: Self.model)
        let stream = Self.experiment.streamingTasks(supportSize: 5, querySize: 5)
        #expect(
            report.rows.map(\.condition) == [
                StreamingReport.offlineCondition, "online + replay", "online, no replay",
                StreamingReport.replayAblationCondition,
            ])
        let offline = try #require(report.rows.first { $0.condition == StreamingReport.offlineCondition })
        #expect(offline.earlierAfter == offline.earlierBefore)
        #expect(offline.replayedTasks == 0 && offline.learningRate == nil && offline.updateMilliseconds == 0)
        let replay = try #require(report.rows.first { $0.condition == "online + replay" })
        #expect(replay.replayedTasks == 3 * stream.count)
        #expect(replay.earlierAfter != replay.earlierBefore)
        let noReplay = try #require(report.rows.first { $0.condition == "online, no replay" })
        #expect(noReplay.replayedTasks == 0)
        for row in [replay, noReplay] {
            #expect(row.learningRateTrials?.map(\.learningRate) == [1e-4, 3e-3])
            #expect(row.learningRate.map { [Float(1e-4), 3e-3].contains($0) } == true)
        }
        // The ablation takes the replay condition's rate without trying any, and replays nothing.
        let ablation = try #require(report.rows.first { $0.condition == StreamingReport.replayAblationCondition })
        #expect(ablation.learningRate == replay.learningRate && ablation.learningRateTrials == nil)
        #expect(ablation.replayedTasks == 0)
        if noReplay.learningRate == replay.learningRate {
            #expect(ablation.auc == noReplay.auc && ablation.earlierAfter == noReplay.earlierAfter)
        }
    }

    /// Several replay weights run one replay condition each, named by weight, between offline
    /// only and no replay; the weight changes what the stream learns.
    @Test func eachReplayWeightIsACondition() throws {
        var options = Self.smallStream()
        options.online.learningRate = 3e-3
        options.replayWeights = [0.25, 0.75]
        let report = try Self.experiment.streamingEvaluation(
            options: options, metaTraining: Self.metaTraining(.lastLayer), model: Self.model)
        #expect(
            report.rows.map(\.condition) == [
                StreamingReport.offlineCondition, "online + replay (weight 0.25)", "online + replay (weight 0.75)",
                "online, no replay",
            ])
        let (light, heavy) = (report.rows[1], report.rows[2])
        #expect(light.replayedTasks == heavy.replayedTasks && light.replayedTasks! > 0)
        #expect(light.earlierAfter != heavy.earlierAfter)
    }

    /// Started empty, as the live learner's is, the reservoir holds only the stream's earlier
    /// users: the first user replays nothing, the second one task, and so on up to `replayTasks`.
    @Test func aReplayStartedEmptyFillsFromTheStream() throws {
        var options = Self.smallStream()
        options.online.learningRate = 3e-3
        options.replayStartsWithWarmUsers = false
        let report = try Self.experiment.streamingEvaluation(
            options: options, metaTraining: Self.metaTraining(.lastLayer), model: Self.model)
        let users = Self.experiment.streamingTasks(supportSize: 5, querySize: 5).count
        #expect(users > 3)
        let replay = try #require(report.rows.first { $0.condition == "online + replay" })
        #expect(replay.replayedTasks == 0 + 1 + 2 + 3 * (users - 3))
        let decoded = try JSONDecoder().decode(StreamingOptions.self, from: JSONEncoder().encode(report.options))
        #expect(decoded.replayStartsWithWarmUsers == false)
    }

    /// One pass without updates returns a learner whose parameters are the offline ones, bit
    /// for bit; with updates only the adaptive part moves and the replay buffer is drawn from.
    @Test func offlineOnlyLeavesTheStartUnchanged() throws {
        let experiment = Self.experiment
        let offline = try experiment.trainMetaLearner(
            options: Self.metaTraining(.modulation),
            model: {
                var m = Self.model
                m.modulation = true
                return m
            }())
        let stream = Array(experiment.streamingTasks(supportSize: 5, querySize: 5).prefix(10))
        let pool = Array(experiment.split.tasks(.warm).prefix(30)).map {
            PreparedTask($0, features: experiment.features)
        }
        var options = OnlineMetaLearner.Options()
        options.updates = false
        let still = experiment.runStream(stream, offline: offline, options: options, replayPool: pool, positiveAt: 4)
        for name in offline.parameters.names {
            #expect(still.learner.parameters.tensor(name).values == offline.parameters.tensor(name).values)
        }
        #expect(still.replayedTasks == 0 && still.errors.count == stream.count)
        options.updates = true
        options.learningRate = 1e-2
        let moved = experiment.runStream(stream, offline: offline, options: options, replayPool: pool, positiveAt: 4)
        #expect(moved.replayedTasks == options.replayTasks * stream.count)
        for name in offline.parameters.names {
            let changed = moved.learner.parameters.tensor(name).values != offline.parameters.tensor(name).values
            #expect(changed == ParameterPartition.modulation.adapts(name), "\(name) changed: \(changed)")
        }
    }
}
