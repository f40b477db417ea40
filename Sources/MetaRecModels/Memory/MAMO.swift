import Foundation
import MetaRecCore
import MetaRecData

/// MAMO, memory-augmented meta-optimisation (Dong et al., "MAMO: Memory-Augmented
/// Meta-Optimization for Cold-start Recommendation", KDD 2020), on the MeLU network
/// (``MeLUModel``: its feature embeddings and decision layers).
///
/// MAML gives every user the same starting point; MAMO personalises it from the user's
/// profile. The profile (the user's feature embeddings) attends over K memory slots; the
/// feature-specific memory M_U then gives a bias b_u and the user's embedding starts at
/// θ_U − τ·b_u, and the task-specific memory M_{U,I} gives the starting preference layer
/// (the first decision layer, which reads the user and item embeddings together). From there,
/// the local update is MAML's inner loop on the support (exact second order through the
/// autodiff, or first order), the global update is Adam on the query loss after adaptation,
/// and after each training task the memories are written with the paper's rates α (profiles),
/// β (biases, with the support gradient) and γ (preference layers). See ``MAMOMemory``.
///
/// What differs from the paper, and why:
/// - The task memory holds an offset from a shared, meta-learned preference layer rather than
///   the whole layer. The paper's write, M ← γ·a ⊗ W + (1 − γ)·M with Σ a_k = 1, shrinks what
///   the memory reads back (Σ a_k² < 1), so a memory holding the whole layer decays towards
///   zero, while an offset memory decays towards the meta-learned layer.
/// - The local update adapts the user's embeddings and the decision layers, not the item
///   embeddings (a new user's few ratings should not move shared items), with the project's
///   MAML rule (steps and rate) so that MAMO and MAML rows compare like with like.
/// - M_U is written with the mean support gradient over the local steps (the paper's gradient
///   at the start when there is one step). Writes are applied after each meta-batch, in task
///   order, rather than between tasks; evaluation never writes, so a test user cannot change
///   what another test user gets.
///
/// ```swift
/// let mamo = MAMO(model: experiment.model(), configuration: .init())
/// try mamo.fit(training: warmByUser, validation: validationTasks, features: features)
/// let ratings = mamo.predict(task)
/// ```
public final class MAMO: ColdStartPredictor, @unchecked Sendable {
    public struct Configuration: Sendable, Codable, Equatable {
        /// Meta-training: the local update rule (steps, rate, order), meta-batch, Adam's rate,
        /// epochs, patience and task sampling, as for MAML.
        public var training: MetaTrainingOptions
        /// Memory slots K (paper: 3).
        public var slots = 3
        /// α, the profile memory's write rate (paper: 0.5).
        public var profileRate: Float = 0.5
        /// β, the bias memory's write rate (paper: 0.05).
        public var biasRate: Float = 0.05
        /// γ, the task memory's write rate (paper: 0.1).
        public var preferenceRate: Float = 0.1
        /// τ, how far the bias moves a user's starting embedding (paper: 0.01).
        public var biasScale: Float = 0.01

        /// `training` with its partition set to what MAMO adapts locally: the user's feature
        /// embeddings and the decision layers.
        public init(training: MetaTrainingOptions = MetaTrainingOptions()) {
            self.training = training
            self.training.adaptation.partition = .named([
                ParameterName.Prefix.user, ParameterName.Prefix.decision, ParameterName.Prefix.output,
                ParameterName.Prefix.modulation,
            ])
        }
    }

    public let name = "MAMO (memory-augmented MAML)"
    public let model: MeLUModel
    public let configuration: Configuration
    /// The shared, meta-learned parameters (θ_U, θ_I and the decision layers).
    public private(set) var parameters: ParameterSet
    public internal(set) var memory: MAMOMemory
    /// The user-embedding parameters the bias memory personalises (the feature tables, not ids).
    public let userEmbeddingNames: [String]
    /// The preference layer the task memory personalises.
    public let preferenceName: String

    public init(model: MeLUModel, configuration: Configuration, parameters: ParameterSet? = nil) {
        self.model = model
        self.configuration = configuration
        var random = SeededGenerator(seed: configuration.training.seed).derived("mamo")
        let initial = parameters ?? model.initialParameters(using: &random)
        self.parameters = initial
        userEmbeddingNames = initial.names.filter {
            $0.hasPrefix(ParameterName.Prefix.user) && $0 != ParameterName.userIDEmbedding
        }
        preferenceName =
            model.configuration.hiddenSizes.isEmpty ? ParameterName.outputWeight : ParameterName.decisionWeight(0)
        var shapes: [String: [Int]] = [:]
        for name in userEmbeddingNames { shapes[name] = initial.tensor(name).shape }
        memory = MAMOMemory(
            slots: configuration.slots, profileWidth: model.userRepresentationWidth, biasShapes: shapes,
            preferenceShape: initial.tensor(preferenceName).shape, using: &random)
    }

    var rule: AdaptationRule { configuration.training.adaptation }

    // MARK: - The personalised start

    /// The user's profile `[1, width]` (their feature embeddings under `p`), the attention it
    /// gives over the memory slots, and the parameters personalised by the memories:
    /// θ_U − τ·b_u for the user embeddings and the shared preference layer plus a_uᵀ M_{U,I}.
    func personalisedStart(_ task: PreparedTask, _ p: ParameterSet) -> (
        start: ParameterSet, attention: Tensor, profile: Tensor
    ) {
        let profile = model.userRepresentation(task.userBatch, parameters: p)
        let attention = memory.attention(profile)
        var substitutes: [String: Tensor] = [:]
        for name in userEmbeddingNames {
            substitutes[name] = p.tensor(name) - memory.bias(name, attention: attention) * configuration.biasScale
        }
        substitutes[preferenceName] = p.tensor(preferenceName) + memory.preferenceOffset(attention: attention)
        return (p.replacing(substitutes), attention, profile)
    }

    /// The query loss after the local update from the personalised start, as a differentiable
    /// scalar of the shared parameters in `p`, and the memory write the task makes.
    func episode(_ task: PreparedTask, _ p: ParameterSet) -> (loss: Tensor, write: MAMOMemory.Write) {
        let (start, attention, profile) = personalisedStart(task, p)
        let adapted = model.adapt(start, to: task, rule: rule, createGraph: configuration.training.order == .second)
        let loss = model.loss(
            model.predict(user: task.userBatch, items: task.queryItems, parameters: adapted), task.queryTargets)
        let write = GradientMode.withoutRecording { () -> MAMOMemory.Write in
            var write = MAMOMemory.Write(
                attention: attention.denseValues, profile: profile.denseValues, biasGradients: nil,
                preferenceOffset: nil)
            guard task.supportCount > 0, rule.steps > 0, rule.learningRate > 0 else { return write }
            let scale = 1 / (rule.learningRate * Float(rule.steps))
            var gradients: [String: [Float]] = [:]
            for name in userEmbeddingNames {
                let moved = zip(start.tensor(name).denseValues, adapted.tensor(name).denseValues)
                gradients[name] = moved.map { ($0 - $1) * scale }
            }
            write.biasGradients = gradients
            write.preferenceOffset = zip(
                adapted.tensor(preferenceName).denseValues, p.tensor(preferenceName).denseValues
            )
            .map { $0 - $1 }
            return write
        }
        return (loss, write)
    }

    /// The query loss of `task` after MAMO's personalised start and local update.
    public func loss(_ task: PreparedTask, parameters p: ParameterSet? = nil) -> Tensor {
        episode(task, p ?? parameters).loss
    }

    /// Scores for the query rows: the memory-personalised start, adapted on the support rows
    /// (with no support, the start alone: the profile still personalises it).
    public func predict(_ task: PreparedTask) -> [Float] {
        let start = GradientMode.withoutRecording { personalisedStart(task, parameters).start }
        let fast = model.adaptForInference(start, to: task, rule: rule)
        return model.scoreQuery(task, parameters: fast)
    }

    /// The selection metric on validation tasks, lower is better: MAE (ratings) or 1 − GAUC (clicks).
    public func validationScore(_ tasks: [PreparedTask]) -> Double {
        guard !tasks.isEmpty else { return .nan }
        return selectionScore(
            tasks, objective: model.configuration.objective, threads: configuration.training.threads, predict)
    }

    // MARK: - Training

    /// The mean meta-gradient over a meta-batch (tasks spread over the configured threads), the
    /// mean query loss, and each task's memory write in task order.
    func metaGradient(_ tasks: [PreparedTask]) -> (gradients: [[Float]], loss: Float, writes: [MAMOMemory.Write]) {
        let targets = parameters.tensors
        let threads = max(1, min(configuration.training.threads, tasks.count))
        let partials = Parallel.map(Array(0..<threads), workers: threads) {
            thread -> (sums: [[Float]], loss: Float, writes: [(Int, MAMOMemory.Write)]) in
            var sums = targets.map { [Float](repeating: 0, count: $0.count) }
            var lossSum: Float = 0
            var writes: [(Int, MAMOMemory.Write)] = []
            for index in stride(from: thread, to: tasks.count, by: threads) {
                let (loss, write) = episode(tasks[index], parameters)
                lossSum += loss.scalar
                writes.append((index, write))
                for (slot, gradient) in gradients(of: loss, withRespectTo: targets).enumerated() {
                    accumulate(gradient, into: &sums[slot])
                }
            }
            return (sums, lossSum, writes)
        }
        var total = partials[0].sums
        for partial in partials.dropFirst() {
            for slot in total.indices {
                for j in total[slot].indices { total[slot][j] += partial.sums[slot][j] }
            }
        }
        let scale = 1 / Float(tasks.count)
        for slot in total.indices {
            for j in total[slot].indices { total[slot][j] *= scale }
        }
        let writes = partials.flatMap(\.writes).sorted { $0.0 < $1.0 }.map(\.1)
        return (total, partials.map(\.loss).reduce(0, +) * scale, writes)
    }

    /// Meta-trains on warm users' ratings: per meta-batch, the global update (Adam on the mean
    /// query loss after the local updates) and then the memory writes. The epoch kept is the one
    /// with the best validation score (memories included); validation users are never written.
    /// - Throws: `TrainingError` when the meta-loss or the validation score stops being finite.
    @discardableResult
    public func fit(
        training ratingsByUser: [Int32: [Interaction]], validation: [PreparedTask], features: FeatureContext,
        monitor: TrainingMonitor = .silent, phase: String = "MAMO"
    ) throws -> TrainingOutcome {
        let options = configuration.training
        let users = ratingsByUser.keys.sorted().filter { ratingsByUser[$0]!.count >= options.minimumTaskSize }
        guard !users.isEmpty else { return .untrained }
        var random = SeededGenerator(seed: options.seed).derived("mamo-training")
        // MAML's task sampling, so that the two are trained on the same kind of episodes.
        let sampler = MetaLearner(model: model, options: options, parameters: parameters)
        let optimizer = Adam(groups: [ParameterGroup(parameters.tensors, learningRate: options.outerLearningRate)])
        let batchSize = options.metaBatchSize
        var order = users
        let loop = TrainingLoop(
            phase: phase, maxEpochs: options.maxEpochs, patience: options.patience, monitor: monitor,
            divergenceHint: "Lower MAMO's outer or inner learning rate.")
        return try loop.run(
            stepsPerEpoch: (users.count + batchSize - 1) / batchSize,
            initialScore: selectable(validationScore(validation)),
            beginEpoch: { _ in
                order = users
                random.shuffle(&order)
            },
            step: { _, step in
                let members = order[((step - 1) * batchSize)..<min(order.count, step * batchSize)]
                let tasks = members.map {
                    sampler.sampleTask(user: $0, ratings: ratingsByUser[$0]!, features: features, random: &random)
                }
                let (meanGradients, loss, writes) = metaGradient(tasks)
                let targets = parameters.tensors
                optimizer.step(
                    Gradients(targets, zip(targets, meanGradients).map { Tensor(shape: $0.shape, values: $1) }))
                for write in writes {
                    memory.write(
                        write, profileRate: configuration.profileRate, biasRate: configuration.biasRate,
                        preferenceRate: configuration.preferenceRate)
                }
                return loss
            },
            validate: { selectable(validationScore(validation)) },
            snapshot: { (parameters.copied(), memory) },
            restore: { best in
                parameters.assign(from: best.0)
                memory = best.1
            })
    }
}
