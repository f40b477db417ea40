import Foundation

/// Progress of a training run, reported after each step (a mini-batch or a meta-batch). The
/// library prints nothing: the caller renders these events (a terminal bar, log lines, or nothing).
public struct TrainingProgress: Sendable {
    /// What is being trained, for example "MAML" or "pretrained network".
    public var phase: String
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var stepsPerEpoch: Int
    public var trainingLoss: Float
    /// The selection metric on the validation tasks, at the last step of an epoch: MAE for
    /// ratings, 1 − GAUC for clicks (lower is better).
    public var validationScore: Double?
    public var bestValidationScore: Double?
    public var isNewBest: Bool

    /// Whether this is the last step of its epoch.
    public var endsEpoch: Bool { step == stepsPerEpoch }

    public init(
        phase: String, epoch: Int, epochs: Int, step: Int, stepsPerEpoch: Int, trainingLoss: Float,
        validationScore: Double?, bestValidationScore: Double?, isNewBest: Bool
    ) {
        self.phase = phase
        self.epoch = epoch
        self.epochs = epochs
        self.step = step
        self.stepsPerEpoch = stepsPerEpoch
        self.trainingLoss = trainingLoss
        self.validationScore = validationScore
        self.bestValidationScore = bestValidationScore
        self.isNewBest = isNewBest
    }
}

/// What a caller hands a trainer: where progress goes and whether to stop (Ctrl-C).
public struct TrainingMonitor: @unchecked Sendable {
    public var report: (TrainingProgress) -> Void
    public var isInterrupted: () -> Bool

    public init(
        report: @escaping (TrainingProgress) -> Void = { _ in }, isInterrupted: @escaping () -> Bool = { false }
    ) {
        self.report = report
        self.isInterrupted = isInterrupted
    }

    /// No progress, never interrupted.
    public static let silent = TrainingMonitor()
}

/// How a training run ended.
public struct TrainingOutcome: Sendable, Codable, Equatable {
    public var epochsRun: Int
    /// The epoch whose state was kept (0: the state before training was never beaten).
    public var bestEpoch: Int
    public var bestValidationScore: Double?
    /// The validation score before training (when there was one) and after each epoch.
    public var validationHistory: [Double]
    /// True when the monitor asked to stop before the last epoch: the best state so far is kept.
    public var interrupted: Bool

    /// A trainer with nothing to train on (no warm user or rating qualifies) kept its initial state.
    public static let untrained = TrainingOutcome(
        epochsRun: 0, bestEpoch: 0, bestValidationScore: nil, validationHistory: [], interrupted: false)
}

/// A training run that cannot go on: its loss or validation score stopped being a number.
public struct TrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    public var phase: String
    public var epoch: Int
    public var step: Int
    public var quantity: String
    public var hint: String

    public var description: String {
        "\(phase): the \(quantity) became non-finite at epoch \(epoch), step \(step); nothing was kept from this run. \(hint)"
    }
}

/// The one training loop every trainer runs: epochs of steps, validation at the end of each
/// epoch, the best epoch's state kept (model selection on validation users only), early stopping
/// after `patience` epochs without improvement, interruption between steps, and progress events.
/// A trainer supplies its step and its validation score; the loop owns everything else, so the
/// trainers cannot drift apart in how they stop, select or report.
public struct TrainingLoop {
    public var phase: String
    public var maxEpochs: Int
    public var patience: Int
    public var monitor: TrainingMonitor
    /// What to tell a user whose run diverged (which option to change).
    public var divergenceHint: String

    public init(
        phase: String, maxEpochs: Int, patience: Int, monitor: TrainingMonitor = .silent,
        divergenceHint: String = "Lower the learning rate."
    ) {
        self.phase = phase
        self.maxEpochs = maxEpochs
        self.patience = patience
        self.monitor = monitor
        self.divergenceHint = divergenceHint
    }

    /// Runs the loop.
    /// - Parameters:
    ///   - stepsPerEpoch: steps in each epoch (at least one is run).
    ///   - initialScore: the validation score before training, when the untrained state is itself a
    ///     candidate (it is kept if no epoch beats it); nil when the first epoch is always kept.
    ///   - beginEpoch: called with the epoch number before its first step (shuffle here).
    ///   - step: one optimisation step; returns its training loss.
    ///   - endEpoch: called after the epoch's last step, before validation (an EM update, say).
    ///   - validate: the validation score (lower is better), or nil when there is nothing to select on.
    ///   - snapshot: a copy of the trainer's state; `restore` puts one back.
    public func run<State>(
        stepsPerEpoch: Int,
        initialScore: Double? = nil,
        beginEpoch: (Int) -> Void = { _ in },
        step: (_ epoch: Int, _ step: Int) throws -> Float,
        endEpoch: (Int) -> Void = { _ in },
        validate: () -> Double?,
        snapshot: () -> State,
        restore: (State) -> Void
    ) throws -> TrainingOutcome {
        let steps = max(1, stepsPerEpoch)
        var stopping = EarlyStopping(patience: patience, initial: initialScore ?? .nan)
        var history: [Double] = initialScore.map { [$0] } ?? []
        var best = snapshot()
        var kept = initialScore != nil
        var bestEpoch = 0
        var epochsRun = 0
        var interrupted = false
        epochs: for epoch in 1...max(1, maxEpochs) {
            beginEpoch(epoch)
            var lossSum: Float = 0
            for index in 1...steps {
                let loss = try step(epoch, index)
                guard loss.isFinite else {
                    throw TrainingError(
                        phase: phase, epoch: epoch, step: index, quantity: "training loss", hint: divergenceHint)
                }
                lossSum += loss
                // Ctrl-C is honoured at once: no validation pass (seconds on a large set) after it;
                // the best state so far is restored below.
                if monitor.isInterrupted() {
                    interrupted = true
                    break epochs
                }
                var score: Double?
                var isNewBest = false
                if index == steps {
                    epochsRun = epoch
                    endEpoch(epoch)
                    score = validate()
                    if let value = score {
                        guard value.isFinite else {
                            throw TrainingError(
                                phase: phase, epoch: epoch, step: index, quantity: "validation score",
                                hint: divergenceHint)
                        }
                        history.append(value)
                        if stopping.record(value) {
                            best = snapshot()
                            kept = true
                            bestEpoch = epoch
                            isNewBest = true
                        }
                    }
                }
                monitor.report(
                    TrainingProgress(
                        phase: phase, epoch: epoch, epochs: maxEpochs, step: index, stepsPerEpoch: steps,
                        trainingLoss: lossSum / Float(index), validationScore: score,
                        bestValidationScore: stopping.bestScore, isNewBest: isNewBest))
                if monitor.isInterrupted() {
                    interrupted = true
                    break epochs
                }
            }
            if stopping.shouldStop { break }
        }
        if kept { restore(best) } else { bestEpoch = epochsRun }
        return TrainingOutcome(
            epochsRun: epochsRun, bestEpoch: bestEpoch, bestValidationScore: stopping.bestScore,
            validationHistory: history, interrupted: interrupted)
    }
}
