import Foundation
import MetaRecCore
import MetaRecData

/// Meta Warm Up Framework (Zhu et al., SIGIR 2021, "Learning to Warm Up Cold Item Embeddings"):
/// a new item's ID embedding e is warmed as  ψ(x) ⊙ e + ω(ū)  by a meta scaling network ψ of the
/// item's features x and a meta shifting network ω of the mean representation ū of the users
/// who have interacted with it so far (zero before anyone has). The base model stays frozen.
///
/// Here ψ(x) = 2·sigmoid(x·W_s + b_s) (1 at the start) and ω(ū) = ū·W_ω + b_ω; the cold
/// embedding e starts at the mean trained ID embedding. Training on warm items minimises, on a
/// batch b of each item's interactions, coldWeight·L_b(ψ ⊙ e + ω(0)) + (1 − coldWeight)·L_b(ψ ⊙ e
/// + ω(ū_a)), with ū_a the mean user of a disjoint batch a: good before and after first users.
public final class MetaWarmUp: @unchecked Sendable {
    public static let scaleWeightName = "mwuf.scale.weight"
    public static let scaleBiasName = "mwuf.scale.bias"
    public static let shiftWeightName = "mwuf.shift.weight"
    public static let shiftBiasName = "mwuf.shift.bias"

    public let model: MeLUModel
    /// The base model's parameters, detached: nothing here changes them.
    public let base: ParameterSet
    /// Settings shared with meta-embeddings: K, epochs, batch size, rate, cold weight, validation share.
    public let options: MetaEmbeddingOptions
    /// The cold embedding e every new item starts from (the mean trained ID embedding): `[E]`.
    public let coldEmbedding: Tensor
    public private(set) var parameters: ParameterSet
    public private(set) var summary: MetaEmbeddingTrainingSummary?

    public init(model: MeLUModel, base: ParameterSet, coldEmbedding: [Float], options: MetaEmbeddingOptions = .init())
        throws
    {
        try options.validate()
        guard model.configuration.itemIDEmbedding, base[MeLUModel.itemIDEmbeddingName] != nil else {
            throw MetaEmbeddingError(
                "MWUF needs a base model with item-id embeddings (MeLUModel.Configuration(itemIDEmbedding: true))")
        }
        let width = model.configuration.embeddingSize
        guard coldEmbedding.count == width else {
            throw MetaEmbeddingError(
                "MWUF: the cold embedding has \(coldEmbedding.count) values, expected the embedding size \(width)")
        }
        self.model = model
        self.base = ParameterSet(base.names.map { ($0, base.tensor($0).detached()) })
        self.options = options
        self.coldEmbedding = Tensor(shape: [width], values: coldEmbedding)
        // Zeros: training starts from the plain mean embedding (ψ = 1, ω = 0), so any change is learned.
        parameters = ParameterSet([
            (Self.scaleWeightName, Tensor.zeros([model.itemFeatureWidth, width]).asParameter()),
            (Self.scaleBiasName, Tensor.zeros([width]).asParameter()),
            (Self.shiftWeightName, Tensor.zeros([model.userRepresentationWidth, width]).asParameter()),
            (Self.shiftBiasName, Tensor.zeros([width]).asParameter()),
        ])
    }

    /// ψ(x) ⊙ e + ω(ū) for items' feature blocks `[n, itemFeatureWidth]`, raw embeddings e
    /// `[n, E]` (or `[1, E]` shared) and mean users `[n, userWidth]` (zeros: no user yet): `[n, E]`.
    public func warm(itemFeatures: Tensor, embeddings: Tensor, meanUsers: Tensor) -> Tensor {
        let scale =
            sigmoid(
                linear(
                    itemFeatures, weight: parameters.tensor(Self.scaleWeightName),
                    bias: parameters.tensor(Self.scaleBiasName))) * 2
        let shift = linear(
            meanUsers, weight: parameters.tensor(Self.shiftWeightName), bias: parameters.tensor(Self.shiftBiasName))
        let raw = embeddings.shape[0] == scale.shape[0] ? embeddings : embeddings.expanded(to: scale.shape)
        return scale * raw + shift
    }

    /// The mean user representation per item slot of `rows` (constants): `[items, userWidth]`.
    public static func meanUsers(_ rows: MetaEmbeddingBatch.Rows, items: Int) -> Tensor {
        let width = rows.userPart.shape[1]
        var sums = [Float](repeating: 0, count: items * width)
        var counts = [Float](repeating: 0, count: items)
        let values = rows.userPart.denseValues
        for row in 0..<rows.slots.count {
            let slot = Int(rows.slots.indices[Int(rows.slots.offsets[row])])
            counts[slot] += 1
            for j in 0..<width { sums[slot * width + j] += values[row * width + j] }
        }
        for slot in 0..<items where counts[slot] > 0 {
            for j in 0..<width { sums[slot * width + j] /= counts[slot] }
        }
        return Tensor(shape: [items, width], values: sums)
    }

    /// The training objective on `batch` (a: the first users, b: the scored interactions).
    public func objective(_ batch: MetaEmbeddingBatch) -> (objective: Tensor, cold: Float, warm: Float) {
        let n = batch.items.count
        let e = coldEmbedding.reshaped([1, coldEmbedding.count])
        let nobody = Tensor.zeros([n, model.userRepresentationWidth])
        let coldEmbeddings = warm(itemFeatures: batch.itemFeatures, embeddings: e, meanUsers: nobody)
        let warmEmbeddings = warm(
            itemFeatures: batch.itemFeatures, embeddings: e, meanUsers: Self.meanUsers(batch.cold, items: n))
        let coldLoss = loss(batch.warm, embeddings: coldEmbeddings)
        let warmLoss = loss(batch.warm, embeddings: warmEmbeddings)
        return (coldLoss * options.coldWeight + warmLoss * (1 - options.coldWeight), coldLoss.scalar, warmLoss.scalar)
    }

    func loss(_ rows: MetaEmbeddingBatch.Rows, embeddings: Tensor) -> Tensor {
        let representation = model.representation(
            userPart: rows.userPart, itemFeatures: rows.itemFeatures,
            itemIDEmbedding: embeddingBag(embeddings, rows.slots))
        return model.loss(model.decide(representation, parameters: base), rows.targets)
    }

    /// Encodes per-item first-user (a) and scored (b) interactions with the frozen base model.
    public func batch(items: [Int32], first: [[Interaction]], scored: [[Interaction]], features: FeatureContext)
        -> MetaEmbeddingBatch
    {
        MetaEmbeddingBatch.encode(model: model, base: base, items: items, cold: first, warm: scored, features: features)
    }

    /// Trains ψ and ω on warm items with at least 2K interactions; a seeded share of them is held
    /// out and selects the epoch (test items are never seen).
    @discardableResult
    public func fit(training: [Interaction], features: FeatureContext, monitor: TrainingMonitor = .silent) throws
        -> MetaEmbeddingTrainingSummary
    {
        let result = try WarmItemEpisodes.train(
            method: "MWUF", seedName: "mwuf", options: options, training: training, parameters: parameters,
            monitor: monitor, divergenceHint: "Lower the meta networks' learning rate.",
            batch: { batch(items: $0, first: $1, scored: $2, features: features) },
            objective: { batch, training in
                training ? objective(batch) : GradientMode.withoutRecording { objective(batch) }
            })
        summary = result
        return result
    }
}

extension MetaEmbeddingBatch {
    /// Per-item rows a (`cold`) and b (`warm`) encoded once with the frozen `base` model.
    public static func encode(
        model: MeLUModel, base: ParameterSet, items: [Int32], cold: [[Interaction]], warm: [[Interaction]],
        features: FeatureContext
    ) -> MetaEmbeddingBatch {
        precondition(
            items.count == cold.count && items.count == warm.count, "encode: one cold and one warm list per item")
        let itemFeatures = model.itemFeatureRepresentation(
            EntityBatch(features.items, entities: items), parameters: base)
        func rows(_ lists: [[Interaction]]) -> MetaEmbeddingBatch.Rows {
            let flat = lists.flatMap { $0 }
            let slots = IndexLists(lists.enumerated().flatMap { slot, list in list.map { _ in [Int32(slot)] } })
            let userPart = GradientMode.withoutRecording {
                model.userRepresentation(EntityBatch(features.users, entities: flat.map(\.user)), parameters: base)
                    .detached()
            }
            let spread = GradientMode.withoutRecording { embeddingBag(itemFeatures, slots).detached() }
            return .init(
                userPart: userPart, itemFeatures: spread, slots: slots,
                targets: Tensor(shape: [flat.count, 1], values: flat.map(\.value)))
        }
        return MetaEmbeddingBatch(items: items, itemFeatures: itemFeatures, cold: rows(cold), warm: rows(warm))
    }
}
