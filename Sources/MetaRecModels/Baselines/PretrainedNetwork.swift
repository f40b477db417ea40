import Foundation
import MetaRecCore
import MetaRecData

/// The protocol's strongest non-meta baseline: the same network trained on all warm ratings as
/// an ordinary model, used as it is or fine-tuned on each task's support set with the same
/// number of steps as the meta-learner (see Buffelli et al. 2023 on why such baselines matter).
public final class PretrainedNetwork: ColdStartPredictor, @unchecked Sendable {
    public struct Options: Sendable, Codable, Equatable {
        public var batchSize = 256
        public var learningRate: Float = 1e-3
        public var maxEpochs = 20
        public var patience = 3
        public var seed: UInt64 = 0
        public var threads = 2
        /// Share of training values replaced by "unknown" (and of ids dropped), per field and row,
        /// so the unknown rows learn an average entity (see ``EntityBatch/maskingValues(rate:using:)``);
        /// nil or 0 masks nothing.
        public var unseenMaskingRate: Float?
        /// Parameters training leaves as they are (e.g. text embeddings initialised from word vectors).
        public var frozenParameters: [String]?
        public init() {}
    }

    public let model: MeLUModel
    public let options: Options
    public private(set) var parameters: ParameterSet
    /// When set, each task's support set fine-tunes the adaptive part before prediction.
    public var fineTuning: AdaptationRule?

    /// How many of a known user's latest history ratings join the support before fine-tuning (nil
    /// or 0: none); chosen on item-cold validation (``Experiment``).
    public var knownHistoryLatest: Int?
    public var knownHistorySelection: KnownHistorySelection?

    /// Added to the name to tell variants apart in a table (e.g. "user id, masking 0.2").
    public var variant: String?

    public var name: String {
        let base =
            fineTuning.map { "pretrained + fine-tune (\($0.partition), \($0.steps) steps, lr \($0.learningRate))" }
            ?? "pretrained network"
        return variant.map { "\(base) [\($0)]" } ?? base
    }

    public init(model: MeLUModel, options: Options, parameters: ParameterSet? = nil) {
        self.model = model
        self.options = options
        var random = SeededGenerator(seed: options.seed).derived("initialisation")
        self.parameters = parameters ?? model.initialParameters(using: &random)
    }

    /// A copy that shares the trained weights and fine-tunes with `rule`.
    public func fineTuned(with rule: AdaptationRule) -> PretrainedNetwork {
        let copy = PretrainedNetwork(model: model, options: options, parameters: parameters)
        copy.fineTuning = rule
        copy.variant = variant
        return copy
    }

    /// Mini-batch training on warm ratings, epoch chosen by the validation tasks' score without
    /// adaptation.
    /// - Throws: `TrainingError` when the loss or the validation score stops being finite.
    @discardableResult
    public func fit(
        training: [Interaction], validation: [PreparedTask], features: FeatureContext,
        monitor: TrainingMonitor = .silent, phase: String = "pretrained network"
    ) throws -> TrainingOutcome {
        guard !training.isEmpty else {
            return .untrained
        }
        var random = SeededGenerator(seed: options.seed).derived("pretraining")
        let frozen = Set(options.frozenParameters ?? [])
        let trainable = parameters.names.filter { !frozen.contains($0) }
        let optimizer = Adam(groups: [ParameterGroup(parameters.tensors(trainable), learningRate: options.learningRate)]
        )
        var order = Array(training.indices)
        let batchSize = options.batchSize
        let loop = TrainingLoop(
            phase: phase, maxEpochs: options.maxEpochs, patience: options.patience, monitor: monitor,
            divergenceHint: "Lower --pretrain-learning-rate (a small positive number).")
        return try loop.run(
            stepsPerEpoch: (training.count + batchSize - 1) / batchSize,
            initialScore: validation.isEmpty ? nil : selectable(validationScore(validation)),
            beginEpoch: { _ in random.shuffle(&order) },
            step: { _, step in
                let rows = order[((step - 1) * batchSize)..<min(order.count, step * batchSize)].map { training[$0] }
                let rate = options.unseenMaskingRate ?? 0
                let users = EntityBatch(features.users, entities: rows.map(\.user)).maskingValues(
                    rate: rate, using: &random)
                let items = EntityBatch(features.items, entities: rows.map(\.item)).maskingValues(
                    rate: rate, using: &random)
                let targets = Tensor(shape: [rows.count, 1], values: rows.map(\.value))
                let tensors = parameters.tensors(trainable)
                let loss = model.loss(model.predict(user: users, items: items, parameters: parameters), targets)
                optimizer.step(Gradients(tensors, gradients(of: loss, withRespectTo: tensors)))
                return loss.scalar
            },
            validate: { validation.isEmpty ? nil : selectable(validationScore(validation)) },
            snapshot: { parameters.copied() },
            restore: { parameters.assign(from: $0) })
    }

    public func predict(_ task: PreparedTask) -> [Float] {
        let task = knownHistoryLatest.map { task.historyInSupport(latest: $0) } ?? task
        guard let rule = fineTuning else { return model.scoreQuery(task, parameters: parameters) }
        return predict(task, rule: rule)
    }

    /// Scores after fine-tuning on the support rows with `rule` (a trial rule while the
    /// support-size schedule is chosen).
    public func predict(_ task: PreparedTask, rule: AdaptationRule) -> [Float] {
        model.scoreQuery(task, parameters: model.adaptForInference(parameters, to: task, rule: rule))
    }

    public func validationScore(_ tasks: [PreparedTask]) -> Double {
        selectionScore(tasks, objective: model.configuration.objective, threads: options.threads, predict)
    }
}
