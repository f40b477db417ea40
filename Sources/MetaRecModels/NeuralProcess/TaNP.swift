import Foundation
import MetaRecCore
import MetaRecData

/// TaNP, the task-adaptive neural process (Lin et al., "Task-adaptive Neural Process for User
/// Cold-Start Recommendation", WWW 2021): an encoder reads each support row (user features,
/// item features, rating), their mean is the task representation, and that representation
/// modulates the decoder's hidden layer by FiLM (Perez et al., AAAI 2018), h ↦ γ ⊙ h + β.
/// Adapting to a new user is one forward pass: no gradient steps, no per-user weights.
///
/// This is the deterministic core of the paper: the latent variable z (a conditional neural
/// process instead) and the task-identity memory are left out. With no support (K = 0) a
/// learned task representation stands in, so the prior prediction still reads the user's
/// features, and the prior also enters the mean as one more row, so a first rating moves the
/// task only part of the way (learned shrinkage). Half the training episodes have at most five
/// support ratings, so the first ratings are trained for.
///
/// ```swift
/// let tanp = TaNP(configuration: .init(), users: userSpace, items: itemSpace)
/// tanp.fit(training: warmByUser, validation: validationTasks, features: features)
/// let ratings = tanp.predict(task)
/// ```
public final class TaNP: ColdStartPredictor, @unchecked Sendable {
    public struct Configuration: Sendable, Codable, Equatable {
        public var embeddingSize = 16
        /// Width of the encoder's hidden layer and of the task representation.
        public var encoderSize = 32
        public var representationSize = 32
        /// Width of the decoder's (FiLM-modulated) hidden layer.
        public var decoderSize = 64
        public var itemIDEmbedding = false
        public var objective: Objective = .rating
        /// The output bias at first, and the centre subtracted from support ratings.
        public var outputBias: Float = 0
        public var tasksPerBatch = 32
        public var learningRate: Float = 1e-3
        public var maxEpochs = 60
        public var patience = 8
        /// Largest support a training episode samples; the query is up to `queryRows` others.
        public var maximumSupport = 40
        public var queryRows = 10
        /// Half the training episodes draw their support size from 0 ... this.
        public var fewShotSupport = 5
        public var seed: UInt64 = 0
        public var threads = 2
        public init() {}
    }

    public let name = "TaNP (task-adaptive neural process)"
    public let configuration: Configuration
    public let users: FeatureSpace
    public let items: FeatureSpace
    public private(set) var parameters: ParameterSet

    public init(configuration: Configuration, users: FeatureSpace, items: FeatureSpace, parameters: ParameterSet? = nil)
    {
        self.configuration = configuration
        self.users = users
        self.items = items
        if let parameters {
            self.parameters = parameters
        } else {
            var random = SeededGenerator(seed: configuration.seed).derived("tanp")
            self.parameters = Self.initialParameters(configuration, users: users, items: items, using: &random)
        }
    }

    var userWidth: Int { max(users.fields.count, 1) * configuration.embeddingSize }
    var itemWidth: Int {
        (max(items.fields.count, 1) + (configuration.itemIDEmbedding ? 1 : 0)) * configuration.embeddingSize
    }

    static func initialParameters(
        _ configuration: Configuration, users: FeatureSpace, items: FeatureSpace, using random: inout SeededGenerator
    ) -> ParameterSet {
        var parameters = ParameterSet()
        let e = configuration.embeddingSize
        for (side, space) in [("user", users), ("item", items)] {
            for field in space.fields {
                parameters["\(side).\(field.name).\(field.isEmbedded ? "embedding" : "projection")"] = Tensor.normal(
                    [max(field.size, 1), e], standardDeviation: 0.1, using: &random, requiresGradient: true)
            }
        }
        if configuration.itemIDEmbedding {
            parameters[ParameterName.itemIDEmbedding] = Tensor.zeros([max(items.entityCount, 1), e]).asParameter()
        }
        let userWidth = max(users.fields.count, 1) * e
        let itemWidth = (max(items.fields.count, 1) + (configuration.itemIDEmbedding ? 1 : 0)) * e
        func glorot(_ name: String, _ rows: Int, _ columns: Int) {
            let bound = (6 / Float(rows + columns)).squareRoot()
            parameters["\(name).weight"] = Tensor.uniform(
                [rows, columns], low: -bound, high: bound, using: &random, requiresGradient: true)
            parameters["\(name).bias"] = Tensor.zeros([columns]).asParameter()
        }
        let (h, d, m) = (configuration.encoderSize, configuration.representationSize, configuration.decoderSize)
        glorot("encoder.0", userWidth + itemWidth + 1, h)
        glorot("encoder.1", h, d)
        parameters["encoder.empty"] = Tensor.zeros([1, d]).asParameter()
        // FiLM starts as the identity (γ = 1 + 0, β = 0) with small weights, so the decoder
        // first learns the population and the task representation then bends it.
        for name in ["film.scale", "film.shift"] {
            parameters["\(name).weight"] = Tensor.normal(
                [d, m], standardDeviation: 0.01, using: &random, requiresGradient: true)
            parameters["\(name).bias"] = Tensor.zeros([m]).asParameter()
        }
        glorot("decoder.user", userWidth, m)
        parameters["decoder.item.weight"] = Tensor.uniform(
            [itemWidth, m], low: -(6 / Float(itemWidth + m)).squareRoot(),
            high: (6 / Float(itemWidth + m)).squareRoot(),
            using: &random, requiresGradient: true)
        let bound = (6 / Float(m + 1)).squareRoot()
        parameters["output.weight"] = Tensor.uniform(
            [m, 1], low: -bound, high: bound, using: &random, requiresGradient: true)
        parameters["output.bias"] = Tensor(shape: [1], values: [configuration.outputBias], requiresGradient: true)
        return parameters
    }

    // MARK: - The model

    func userRepresentation(_ batch: EntityBatch, _ p: ParameterSet) -> Tensor {
        concatenateColumns(users.embeddings(of: batch, side: .user, parameters: p, width: configuration.embeddingSize))
    }

    func itemRepresentation(_ batch: EntityBatch, _ p: ParameterSet) -> Tensor {
        var parts = items.embeddings(of: batch, side: .item, parameters: p, width: configuration.embeddingSize)
        if configuration.itemIDEmbedding {
            parts.append(embeddingBag(p.tensor(ParameterName.itemIDEmbedding), batch.ids))
        }
        return concatenateColumns(parts)
    }

    /// The items' feature embeddings alone (no id embedding), `[rows, fields × embeddingSize]`:
    /// what a new item has, and what a meta-embedding generator reads.
    func itemFeatureRepresentation(_ batch: EntityBatch, _ p: ParameterSet) -> Tensor {
        concatenateColumns(items.embeddings(of: batch, side: .item, parameters: p, width: configuration.embeddingSize))
    }

    /// The task representation, `[1, d]`: the mean of the encoded support rows and a learned
    /// prior row (the representation at K = 0), so one rating moves the task only part of the
    /// way from the prior: learned shrinkage, continuous from K = 0 to K = 1.
    func taskRepresentation(user: Tensor, supportItems: EntityBatch, targets: Tensor, _ p: ParameterSet) -> Tensor {
        guard supportItems.rows > 0 else { return p.tensor("encoder.empty") }
        return taskRepresentation(user: user, supportRows: itemRepresentation(supportItems, p), targets: targets, p)
    }

    /// The task representation from the support items' representations (`[rows, itemWidth]`),
    /// for a caller that keeps item rows cached (serving) instead of a feature table.
    func taskRepresentation(user: Tensor, supportRows: Tensor, targets: Tensor, _ p: ParameterSet) -> Tensor {
        let rows = supportRows.shape[0]
        let prior = p.tensor("encoder.empty")
        guard rows > 0 else { return prior }
        let centred = targets - configuration.outputBias
        let input = concatenateColumns([user.expanded(to: [rows, user.shape[1]]), supportRows, centred])
        let hidden = relu(linear(input, weight: p.tensor("encoder.0.weight"), bias: p.tensor("encoder.0.bias")))
        let encoded = linear(hidden, weight: p.tensor("encoder.1.weight"), bias: p.tensor("encoder.1.bias"))
        return (matmul(Tensor.filled([1, rows], with: 1), encoded) + prior) * (1 / Float(rows + 1))
    }

    /// FiLM's γ (1 + a linear map) and β of the decoder's hidden layer, each `[m]`.
    func modulation(_ task: Tensor, _ p: ParameterSet) -> (scale: Tensor, shift: Tensor) {
        let m = configuration.decoderSize
        let scale =
            linear(task, weight: p.tensor("film.scale.weight"), bias: p.tensor("film.scale.bias")).reshaped([m]) + 1
        let shift = linear(task, weight: p.tensor("film.shift.weight"), bias: p.tensor("film.shift.bias")).reshaped([m])
        return (scale, shift)
    }

    /// Raw outputs (ratings, or click logits) for the task's query rows: `[queryCount, 1]`.
    func outputs(_ task: PreparedTask, _ p: ParameterSet) -> Tensor {
        let user = userRepresentation(task.userBatch, p)
        let film = modulation(
            taskRepresentation(user: user, supportItems: task.supportItems, targets: task.supportTargets, p), p)
        let rows = task.queryCount
        let userPart = matmul(user, p.tensor("decoder.user.weight")) + p.tensor("decoder.user.bias")
        let itemPart = matmul(itemRepresentation(task.queryItems, p), p.tensor("decoder.item.weight"))
        let hidden = relu(itemPart + userPart.expanded(to: [rows, configuration.decoderSize]))
        return linear(
            hidden * film.scale + film.shift, weight: p.tensor("output.weight"), bias: p.tensor("output.bias"))
    }

    /// The training loss of one task's query rows: MSE for ratings, logistic loss for clicks.
    func loss(_ task: PreparedTask, _ p: ParameterSet) -> Tensor {
        let predictions = outputs(task, p)
        switch configuration.objective {
        case .rating: return meanSquaredError(predictions, task.queryTargets)
        case .click: return binaryCrossEntropy(logits: predictions, labels: task.queryTargets)
        }
    }

    func score(_ outputs: [Float]) -> [Float] {
        configuration.objective == .click ? outputs.map { 1 / (1 + Foundation.exp(-$0)) } : outputs
    }

    public func predict(_ task: PreparedTask) -> [Float] {
        GradientMode.withoutRecording { score(outputs(task, parameters).denseValues) }
    }

    // MARK: - Training

    /// An episode from a warm user's ratings: a support of 0 ... `maximumSupport` rows and a
    /// query of others. Half the episodes have at most `fewShotSupport` rows, so that a new
    /// user's first ratings are trained for as much as a long history.
    func episode(_ ratings: [Interaction], user: Int32, features: FeatureContext, random: inout SeededGenerator)
        -> PreparedTask?
    {
        guard ratings.count >= 2 else { return nil }
        var shuffled = ratings
        random.shuffle(&shuffled)
        let largest = min(
            random.uniform() < 0.5 ? configuration.fewShotSupport : configuration.maximumSupport, ratings.count - 1)
        let supportSize = random.integer(below: largest + 1)
        let query = shuffled[supportSize...].prefix(configuration.queryRows)
        return PreparedTask(
            user: user, support: Array(shuffled[..<supportSize]), query: Array(query), features: features)
    }

    /// Episodic training on warm users (Adam, `tasksPerBatch` users per step); the epoch kept is
    /// the one with the best validation score (pass validation tasks at several support sizes
    /// to make few-shot sizes count in selection).
    @discardableResult
    public func fit(
        training: [Int32: [Interaction]], validation: [PreparedTask], features: FeatureContext,
        monitor: TrainingMonitor = .silent, phase: String = "TaNP"
    ) throws -> TrainingOutcome {
        let users = training.keys.filter { training[$0]!.count >= 2 }.sorted()
        guard !users.isEmpty else {
            return .untrained
        }
        var random = SeededGenerator(seed: configuration.seed).derived("tanp-training")
        let trainable = parameters.tensors
        let optimizer = Adam(groups: [ParameterGroup(trainable, learningRate: configuration.learningRate)])
        var order = users
        let batchSize = configuration.tasksPerBatch
        let loop = TrainingLoop(
            phase: phase, maxEpochs: configuration.maxEpochs, patience: configuration.patience, monitor: monitor,
            divergenceHint: "Lower TaNP's learning rate.")
        return try loop.run(
            stepsPerEpoch: (users.count + batchSize - 1) / batchSize,
            beginEpoch: { _ in random.shuffle(&order) },
            step: { _, step in
                let chosen = order[((step - 1) * batchSize)..<min(order.count, step * batchSize)]
                let seeds = chosen.map { _ in random.next() }
                let tasks = chosen.enumerated().compactMap { index, user -> PreparedTask? in
                    var taskRandom = SeededGenerator(seed: seeds[index])
                    return episode(training[user]!, user: user, features: features, random: &taskRandom)
                }
                guard !tasks.isEmpty else { return 0 }
                let losses = tasks.map { loss($0, parameters) }
                let total = losses.dropFirst().reduce(losses[0], +) * (1 / Float(losses.count))
                optimizer.step(Gradients(trainable, gradients(of: total, withRespectTo: trainable)))
                return total.scalar
            },
            validate: {
                validation.isEmpty
                    ? nil
                    : selectable(
                        selectionScore(
                            validation, objective: configuration.objective, threads: configuration.threads, predict))
            },
            snapshot: { parameters.copied() },
            restore: { parameters.assign(from: $0) })
    }
}
