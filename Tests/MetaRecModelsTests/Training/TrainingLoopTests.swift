import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// The one training loop: selection of the best epoch, early stopping, interruption and
/// divergence, on a scripted trainer (exact expectations) and on the real trainers.
@Suite struct TrainingLoopTests {
    /// Runs the loop on a trainer whose state is the epoch number and whose validation scores are scripted.
    func run(
        scores: [Double], initial: Double? = nil, patience: Int = 2, losses: (Int, Int) -> Float = { _, _ in 1 },
        interruptAfter: Int? = nil
    ) throws -> (TrainingOutcome, state: Int, events: [TrainingProgress]) {
        var state = 0
        var events: [TrainingProgress] = []
        let monitor = TrainingMonitor(
            report: { events.append($0) }, isInterrupted: { interruptAfter.map { events.count >= $0 } ?? false })
        let loop = TrainingLoop(phase: "scripted", maxEpochs: scores.count, patience: patience, monitor: monitor)
        let outcome = try loop.run(
            stepsPerEpoch: 3, initialScore: initial,
            beginEpoch: { state = $0 }, step: { epoch, step in losses(epoch, step) },
            validate: { scores[state - 1] }, snapshot: { state }, restore: { state = $0 })
        return (outcome, state, events)
    }

    @Test func keepsTheBestEpochAndStopsAfterPatience() throws {
        let (outcome, state, events) = try run(scores: [0.9, 0.7, 0.8, 0.75, 0.6], patience: 2)
        #expect(outcome.bestEpoch == 2 && state == 2, "the best validation epoch's state is restored")
        #expect(outcome.epochsRun == 4, "two epochs without improvement after epoch 2 stop the run")
        #expect(outcome.validationHistory == [0.9, 0.7, 0.8, 0.75])
        #expect(!outcome.interrupted)
        #expect(events.count == 4 * 3 && events.filter(\.isNewBest).map(\.epoch) == [1, 2])
        #expect(events.filter { $0.validationScore != nil }.allSatisfy { $0.endsEpoch })
    }

    @Test func theUntrainedStateWinsWhenNoEpochBeatsIt() throws {
        let (outcome, state, _) = try run(scores: [0.9, 0.8], initial: 0.5, patience: 5)
        #expect(outcome.bestEpoch == 0 && state == 0)
        #expect(outcome.bestValidationScore == 0.5)
    }

    @Test func interruptionStopsBetweenStepsAndKeepsTheBest() throws {
        let (outcome, state, events) = try run(scores: [0.9, 0.7, 0.6], patience: 5, interruptAfter: 5)
        #expect(outcome.interrupted && events.count == 5)
        #expect(state == 1 && outcome.bestEpoch == 1, "epoch 2 never finished, so epoch 1's state is kept")
    }

    /// Ctrl-C during an epoch's last step stops before the validation pass, which can take
    /// seconds on a large validation set: the command answers within a step.
    @Test func interruptionDuringTheLastStepSkipsValidation() throws {
        var validations = 0
        var pressed = false
        let loop = TrainingLoop(
            phase: "scripted", maxEpochs: 3, patience: 5,
            monitor: TrainingMonitor(isInterrupted: { pressed }))
        var state = 0
        let outcome = try loop.run(
            stepsPerEpoch: 3, beginEpoch: { state = $0 },
            step: { epoch, step in
                if epoch == 2 && step == 3 { pressed = true }  // Ctrl-C arrives during this step
                return 1
            },
            validate: {
                validations += 1
                return 1.0 / Double(state)
            }, snapshot: { state }, restore: { state = $0 })
        #expect(outcome.interrupted && validations == 1, "epoch 1 was validated, epoch 2 was not")
        #expect(state == 1 && outcome.bestEpoch == 1)
    }

    @Test func aNonFiniteLossIsAnErrorNamingWhereItHappened() {
        #expect {
            _ = try run(scores: [0.9, 0.8], losses: { epoch, step in epoch == 2 && step == 2 ? .nan : 1 })
        } throws: { error in
            guard let error = error as? TrainingError else { return false }
            return error.phase == "scripted" && error.epoch == 2 && error.step == 2 && error.quantity == "training loss"
        }
        #expect(throws: TrainingError.self) { _ = try run(scores: [0.9, .infinity]) }
    }

    @Test func aDivergingMetaLearnerFailsInsteadOfSavingGarbage() {
        let world = SmallWorld.shared
        var options = MetaTrainingOptions()
        options.maxEpochs = 2
        options.metaBatchSize = 16
        options.outerLearningRate = .nan
        let learner = MetaLearner(model: world.model(), options: options)
        #expect(throws: TrainingError.self) {
            try learner.fit(
                training: world.split.warmRatingsByUser(), validation: world.validation, features: world.features)
        }
    }

    @Test func everyTrainerStopsWhenInterrupted() throws {
        let world = SmallWorld.shared
        var steps = 0
        let monitor = TrainingMonitor(report: { _ in steps += 1 }, isInterrupted: { steps >= 2 })

        var pretraining = PretrainedNetwork.Options()
        pretraining.maxEpochs = 5
        let network = PretrainedNetwork(model: world.model(), options: pretraining)
        let pretrained = try network.fit(
            training: world.warm, validation: world.validation, features: world.features, monitor: monitor)
        #expect(pretrained.interrupted && steps == 2)

        steps = 0
        var covariance = CovarianceHead.Configuration()
        covariance.embeddingSize = 4
        covariance.representationSize = 4
        let head = CovarianceHead(
            configuration: covariance, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures))
        let bayesian = try head.fit(
            training: world.warm, validation: world.validation, features: world.features, monitor: monitor)
        #expect(bayesian.interrupted && steps == 2)

        steps = 0
        var meta = MetaTrainingOptions()
        meta.metaBatchSize = 8
        meta.adaptation.steps = 1
        let learner = MetaLearner(model: world.model(), options: meta)
        let maml = try learner.fit(
            training: world.split.warmRatingsByUser(), validation: world.validation,
            features: world.features, monitor: monitor)
        #expect(maml.interrupted && steps == 2)
    }
}
