import Foundation
import MetaRecCore
import MetaRecData

/// The settings of meta-embedding training (Pan et al., SIGIR 2019, "Meta-Embedding").
public struct MetaEmbeddingOptions: Sendable, Codable, Equatable {
    /// Examples per mini-batch: each training item gives a cold batch a and a warm batch b of K each.
    public var k = 20
    /// Rate α of the gradient step on the generated embedding: e' = e − α ∇e L_a.
    public var innerLearningRate: Float = 0.1
    /// Weight of the cold loss; the warm loss gets 1 − coldWeight (MetaEmb: 0.1 and 0.9).
    public var coldWeight: Float = 0.1
    public var epochs = 20
    /// Items per meta-batch.
    public var metaBatchSize = 32
    /// Adam's rate for the generator.
    public var learningRate: Float = 1e-3
    /// Share of the eligible warm items held out for model selection.
    public var validationFraction = 0.15
    /// Epochs without a better validation objective before stopping.
    public var patience = 4
    public var seed: UInt64 = 0

    public init(
        k: Int = 20, innerLearningRate: Float = 0.1, epochs: Int = 20, metaBatchSize: Int = 32,
        learningRate: Float = 1e-3, seed: UInt64 = 0
    ) {
        self.k = k
        self.innerLearningRate = innerLearningRate
        self.epochs = epochs
        self.metaBatchSize = metaBatchSize
        self.learningRate = learningRate
        self.seed = seed
    }

    /// Throws a ``MetaEmbeddingError`` naming the first bad setting.
    public func validate() throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw MetaEmbeddingError("meta-embedding options: \(message)") }
        }
        try check(k >= 1, "K (examples per batch) must be at least 1, got \(k)")
        try check(
            innerLearningRate.isFinite && innerLearningRate >= 0,
            "the inner learning rate must be finite and non-negative, got \(innerLearningRate)")
        try check(coldWeight >= 0 && coldWeight <= 1, "the cold-loss weight must be in [0, 1], got \(coldWeight)")
        try check(epochs >= 1, "epochs must be at least 1, got \(epochs)")
        try check(metaBatchSize >= 1, "the meta-batch size must be at least 1, got \(metaBatchSize)")
        try check(learningRate.isFinite && learningRate > 0, "the learning rate must be positive, got \(learningRate)")
        try check(
            validationFraction > 0 && validationFraction < 1,
            "the validation fraction must be in (0, 1), got \(validationFraction)")
        try check(patience >= 1, "patience must be at least 1, got \(patience)")
    }
}

/// A bad setting or unusable input for meta-embeddings or the item warm-up.
public struct MetaEmbeddingError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One meta-batch: per item a cold batch a and a warm batch b of equal size, encoded once
/// with the frozen base model (user blocks and item feature blocks are constants).
public struct MetaEmbeddingBatch: Sendable {
    public var items: [Int32]
    /// The items' feature blocks, the generator's input: `[items, itemFeatureWidth]`.
    public var itemFeatures: Tensor
    public var cold: Rows
    public var warm: Rows

    public struct Rows: Sendable {
        public var userPart: Tensor
        public var itemFeatures: Tensor
        /// Row r belongs to item slot `slots.indices[r]`.
        public var slots: IndexLists
        public var targets: Tensor
    }
}

/// What meta-embedding training did.
public struct MetaEmbeddingTrainingSummary: Sendable, Codable {
    public var trainingItems: Int
    public var validationItems: Int
    public var epochsRun: Int
    public var bestEpoch: Int
    /// Validation objective (coldWeight·L_a + (1 − coldWeight)·L_b) before training (index 0)
    /// and after each epoch.
    public var validationObjective: [Double]
    /// Validation cold loss L_a and warm loss L_b at the selected epoch.
    public var validationColdLoss: Double
    public var validationWarmLoss: Double
    public var seconds: Double
}

/// Generates a new item's ID embedding from its frozen feature embeddings (Pan et al., "Warm Up
/// Cold-start Advertisements: Improving CTR Predictions via Learning to Learn ID Embeddings",
/// SIGIR 2019): e = tanh(x·W + b)·scale, meta-trained on warm items so that e is good at once
/// (cold loss on batch a) and after one gradient step on batch a (warm loss on batch b).
///
/// The base model (a trained ``MeLUModel`` with item-id embeddings) stays frozen.
public final class MetaEmbeddingGenerator: @unchecked Sendable {
    public static let weightName = "generator.weight"
    public static let biasName = "generator.bias"

    public let model: MeLUModel
    /// The base model's parameters, detached: nothing here changes them.
    public let base: ParameterSet
    public let options: MetaEmbeddingOptions
    /// Output scale, e.g. the standard deviation of the trained warm ID embeddings.
    public let scale: Float
    /// "generator.weight" `[itemFeatureWidth, E]` and "generator.bias" `[E]`.
    public private(set) var parameters: ParameterSet
    public private(set) var summary: MetaEmbeddingTrainingSummary?

    public init(model: MeLUModel, base: ParameterSet, options: MetaEmbeddingOptions = .init(), scale: Float) throws {
        try options.validate()
        guard model.configuration.itemIDEmbedding, base[MeLUModel.itemIDEmbeddingName] != nil else {
            throw MetaEmbeddingError(
                "meta-embeddings need a base model with item-id embeddings (MeLUModel.Configuration(itemIDEmbedding: true))"
            )
        }
        guard scale.isFinite, scale > 0 else {
            throw MetaEmbeddingError("the generator's output scale must be positive, got \(scale)")
        }
        self.model = model
        self.base = ParameterSet(base.names.map { ($0, base.tensor($0).detached()) })
        self.options = options
        self.scale = scale
        var random = SeededGenerator(seed: options.seed).derived("meta-embedding-init")
        let (inputs, outputs) = (model.itemFeatureWidth, model.configuration.embeddingSize)
        let bound = (6 / Float(inputs + outputs)).squareRoot()
        parameters = ParameterSet([
            (
                Self.weightName,
                Tensor.uniform([inputs, outputs], low: -bound, high: bound, using: &random, requiresGradient: true)
            ),
            (Self.biasName, Tensor.zeros([outputs]).asParameter()),
        ])
    }

    /// The mean row and the standard deviation (over all elements) of the trained ID embeddings
    /// of `items`: the "mean" initialisation and the generator's scale.
    public static func idEmbeddingStatistics(_ parameters: ParameterSet, items: [Int32]) -> (
        mean: [Float], standardDeviation: Float
    ) {
        let table = parameters.tensor(MeLUModel.itemIDEmbeddingName)
        let width = table.shape[1]
        let values = table.denseValues
        var mean = [Double](repeating: 0, count: width)
        var sum = 0.0
        var squares = 0.0
        for item in items {
            for j in 0..<width {
                let v = Double(values[Int(item) * width + j])
                mean[j] += v
                sum += v
                squares += v * v
            }
        }
        let n = Double(max(items.count, 1))
        let total = n * Double(width)
        let variance = max(0, squares / total - (sum / total) * (sum / total))
        return (mean.map { Float($0 / n) }, Float(variance.squareRoot()))
    }

    /// The generated embeddings of feature blocks `[rows, itemFeatureWidth]`: `[rows, E]`, differentiable
    /// in the generator's parameters.
    public func generate(_ itemFeatures: Tensor) -> Tensor {
        tanh(linear(itemFeatures, weight: parameters.tensor(Self.weightName), bias: parameters.tensor(Self.biasName)))
            * scale
    }

    /// The generated embeddings of `items` (values only): `[items.count, E]`.
    public func embeddings(for items: [Int32], features: FeatureTable) -> Tensor {
        GradientMode.withoutRecording {
            let x = model.itemFeatureRepresentation(EntityBatch(features, entities: items), parameters: base)
            return generate(x).detached()
        }
    }

    /// Encodes per-item cold (a) and warm (b) interactions; every item must have the same number of each.
    public func batch(items: [Int32], cold: [[Interaction]], warm: [[Interaction]], features: FeatureContext)
        -> MetaEmbeddingBatch
    {
        precondition(
            items.count == cold.count && items.count == warm.count, "batch: one cold and one warm list per item")
        let itemFeatures = model.itemFeatureRepresentation(
            EntityBatch(features.items, entities: items), parameters: base)
        func rows(_ lists: [[Interaction]]) -> MetaEmbeddingBatch.Rows {
            precondition(Set(lists.map(\.count)).count <= 1, "batch: items must have equally many rows")
            let flat = lists.flatMap { $0 }
            let slots = lists.enumerated().flatMap { slot, list in list.map { _ in [Int32(slot)] } }
            let userPart = GradientMode.withoutRecording {
                model.userRepresentation(EntityBatch(features.users, entities: flat.map(\.user)), parameters: base)
                    .detached()
            }
            let perRow = IndexLists(slots)
            let spread = GradientMode.withoutRecording { embeddingBag(itemFeatures, perRow).detached() }
            return .init(
                userPart: userPart, itemFeatures: spread, slots: perRow,
                targets: Tensor(shape: [flat.count, 1], values: flat.map(\.value)))
        }
        return MetaEmbeddingBatch(items: items, itemFeatures: itemFeatures, cold: rows(cold), warm: rows(warm))
    }

    /// The meta-objective on `batch`: coldWeight·L_a(e) + (1 − coldWeight)·L_b(e − α ∇e L_a),
    /// with L the base model's loss averaged per item, then over items.
    /// - Parameter createGraph: differentiate through the inner step (second order), as training does.
    public func objective(_ batch: MetaEmbeddingBatch, createGraph: Bool = true) -> (
        objective: Tensor, cold: Float, warm: Float
    ) {
        let n = Float(batch.items.count)
        let generated = generate(batch.itemFeatures)
        let coldLoss = loss(batch.cold, embeddings: generated)
        // Each item has as many rows: n × mean loss is the sum of per-item mean losses, so its
        // gradient with respect to row i of `generated` is item i's own.
        let gradient = gradients(of: coldLoss * n, withRespectTo: [generated], createGraph: createGraph)[0]
        let adapted = generated - gradient * options.innerLearningRate
        let warmLoss = loss(batch.warm, embeddings: adapted)
        let total = coldLoss * options.coldWeight + warmLoss * (1 - options.coldWeight)
        return (total, coldLoss.scalar, warmLoss.scalar)
    }

    func loss(_ rows: MetaEmbeddingBatch.Rows, embeddings: Tensor) -> Tensor {
        let representation = model.representation(
            userPart: rows.userPart, itemFeatures: rows.itemFeatures,
            itemIDEmbedding: embeddingBag(embeddings, rows.slots))
        return model.loss(model.decide(representation, parameters: base), rows.targets)
    }

    /// Meta-trains on warm items with at least 2K interactions in `training`; a seeded share of
    /// them is held out and selects the epoch (the test items are never seen).
    @discardableResult
    public func fit(
        training: [Interaction], features: FeatureContext, monitor: TrainingMonitor = .silent
    ) throws -> MetaEmbeddingTrainingSummary {
        let result = try WarmItemEpisodes.train(
            method: "meta-embeddings", seedName: "meta-embedding", options: options, training: training,
            parameters: parameters, monitor: monitor,
            divergenceHint: "Lower the generator's learning rate or its inner rate (--generator-rates).",
            batch: { batch(items: $0, cold: $1, warm: $2, features: features) },
            objective: { objective($0, createGraph: $1) })
        summary = result
        return result
    }
}
