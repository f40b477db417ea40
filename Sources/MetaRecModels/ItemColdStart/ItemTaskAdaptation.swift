import Foundation
import MetaRecCore
import MetaRecData

/// The users of one side of a meta-batch of item tasks (support or query), encoded once.
public struct ItemTaskRows: Sendable {
    /// The frozen base model's user blocks: `[rows, userRepresentationWidth]`.
    public var userBlocks: Tensor
    /// One user id per row, for the learned user-id embedding.
    public var users: IndexLists
    /// The item slot (index into the batch's items) of each row.
    public var slots: [Int32]
    /// 1 when the user engaged with (clicked) the item, else 0.
    public var labels: [Float]

    public init(userBlocks: Tensor, users: [Int32], slots: [Int32], labels: [Float]) {
        precondition(
            userBlocks.shape[0] == users.count && users.count == slots.count && slots.count == labels.count,
            "ItemTaskRows: one user block, user, slot and label per row")
        self.userBlocks = userBlocks
        self.users = IndexLists(users.map { [$0] })
        self.slots = slots
        self.labels = labels
    }

    public var count: Int { slots.count }
    public var targets: Tensor { Tensor(shape: [count, 1], values: labels) }
    /// Each row's item slot as a list of one, to spread per-item rows over these rows.
    var slotLists: IndexLists { IndexLists(slots.map { [$0] }) }
}

/// A meta-batch of item tasks: per item, the users who engaged with it or not so far (support) and
/// the users to score (query).
public struct ItemTaskBatch: Sendable, WarmItemEpisodes.Batch {
    public var items: [Int32]
    /// The items' frozen feature blocks: `[items, itemFeatureWidth]`.
    public var itemFeatures: Tensor
    public var support: ItemTaskRows
    public var query: ItemTaskRows
}

/// Item cold-start as meta-learning over items (Vartak et al., NeurIPS 2017, "A Meta-Learning
/// Perspective on Cold-Start Recommendations for Items"): each item is a task whose history is
/// the users who engaged with it (class 1) and who did not (class 0). A learned user
/// representation F(u) is pooled per class into representatives R₁ and R₀ (class means); a
/// method maps them to a scorer in one forward pass, with no gradient step per item.
///
/// Here F(u) = tanh(b·W + c + E[u]) with b the frozen base model's user block (its feature
/// embeddings) and E a learned user-id embedding. An item with no user of a class yet (a cold
/// item has none of either) takes a learned default representative for that class.
public protocol ItemTaskAdaptation: AnyObject {
    /// The base network whose frozen user and item feature blocks are the inputs.
    var model: MeLUModel { get }
    var base: ParameterSet { get }
    /// Episode settings shared with the other new-item methods (K, epochs, rate, cold weight...).
    var options: MetaEmbeddingOptions { get }
    /// The shared user representation's parameters and the method's own.
    var parameters: ParameterSet { get }
    var summary: MetaEmbeddingTrainingSummary? { get set }
    /// The method's name, in tables and errors.
    var name: String { get }

    /// Click logits `[query.count, 1]` of the query users, given F of those users `[query.count, D]`
    /// and each item's representatives `[items, D]`.
    func logits(
        users: Tensor, query: ItemTaskRows, negative: Tensor, positive: Tensor, itemFeatures: Tensor
    ) -> Tensor
}

/// Names and initial values of the parameters every item-task method shares.
enum ItemTaskParameters {
    static let userWeightName = "itemtask.user.weight"
    static let userBiasName = "itemtask.user.bias"
    static let userEmbeddingName = "itemtask.user.embedding"
    static let defaultNegativeName = "itemtask.default.negative"
    static let defaultPositiveName = "itemtask.default.positive"

    /// Checks the base model and returns F's parameters: Glorot weights, zero id embeddings (a user
    /// training never saw adds nothing) and small random default representatives.
    static func shared(model: MeLUModel, width: Int, method: String, random: inout SeededGenerator) throws -> [(
        String, Tensor
    )] {
        guard model.configuration.objective == .click else {
            throw MetaEmbeddingError(
                "\(method) learns from engaged and non-engaged users: it needs click data (implicit feedback, e.g. --implicit-threshold 4)"
            )
        }
        guard width >= 1 else {
            throw MetaEmbeddingError("\(method): the user representation width must be at least 1")
        }
        let inputs = model.userRepresentationWidth
        let bound = (6 / Float(inputs + width)).squareRoot()
        return [
            (userWeightName, Tensor.uniform([inputs, width], low: -bound, high: bound, using: &random).asParameter()),
            (userBiasName, Tensor.zeros([width]).asParameter()),
            (userEmbeddingName, Tensor.zeros([max(model.users.entityCount, 1), width]).asParameter()),
            (defaultNegativeName, Tensor.normal([width], standardDeviation: 0.1, using: &random).asParameter()),
            (defaultPositiveName, Tensor.normal([width], standardDeviation: 0.1, using: &random).asParameter()),
        ]
    }
}

extension ItemTaskAdaptation {
    /// F(u) of `rows`: `[rows.count, D]`.
    public func userRepresentation(_ rows: ItemTaskRows) -> Tensor {
        let p = parameters
        return tanh(
            linear(
                rows.userBlocks, weight: p.tensor(ItemTaskParameters.userWeightName),
                bias: p.tensor(ItemTaskParameters.userBiasName))
                + embeddingBag(p.tensor(ItemTaskParameters.userEmbeddingName), rows.users))
    }

    /// The class representatives of each item: the mean F over its support users of each class,
    /// or the learned default when it has none of that class: two `[items, D]`.
    public func representatives(_ support: ItemTaskRows, items: Int) -> (negative: Tensor, positive: Tensor) {
        let users = support.count > 0 ? userRepresentation(support) : nil
        func representative(_ label: Float, _ defaultName: String) -> Tensor {
            var lists = [[Int32]](repeating: [], count: items)
            for row in 0..<support.count where (support.labels[row] >= 0.5) == (label >= 0.5) {
                lists[Int(support.slots[row])].append(Int32(row))
            }
            let fallback = parameters.tensor(defaultName)
            let empty = Tensor(shape: [items, 1], values: lists.map { $0.isEmpty ? 1 : 0 })
            let defaults = matmul(empty, fallback.reshaped([1, fallback.count]))
            guard let users else { return defaults }
            return embeddingBag(users, IndexLists(lists)) + defaults
        }
        return (
            representative(0, ItemTaskParameters.defaultNegativeName),
            representative(1, ItemTaskParameters.defaultPositiveName)
        )
    }

    /// The query's click logits after reading each item's support: `[query.count, 1]`.
    public func logits(_ batch: ItemTaskBatch, support: ItemTaskRows? = nil) -> Tensor {
        let (negative, positive) = representatives(support ?? batch.support, items: batch.items.count)
        return logits(
            users: userRepresentation(batch.query), query: batch.query, negative: negative, positive: positive,
            itemFeatures: batch.itemFeatures)
    }

    /// coldWeight·L(query | no support) + (1 − coldWeight)·L(query | support), L the mean log-loss:
    /// good for a cold item and once its first users are known (as MWUF's objective).
    public func objective(_ batch: ItemTaskBatch) -> (objective: Tensor, cold: Float, warm: Float) {
        let nobody = ItemTaskRows(
            userBlocks: Tensor.zeros([0, model.userRepresentationWidth]), users: [], slots: [], labels: [])
        let targets = batch.query.targets
        let cold = binaryCrossEntropy(logits: logits(batch, support: nobody), labels: targets)
        let warm = binaryCrossEntropy(logits: logits(batch), labels: targets)
        return (cold * options.coldWeight + warm * (1 - options.coldWeight), cold.scalar, warm.scalar)
    }

    /// Encodes per-item support and query interactions with the frozen base model (labels: value ≥ 0.5).
    public func batch(items: [Int32], support: [[Interaction]], query: [[Interaction]], features: FeatureContext)
        -> ItemTaskBatch
    {
        precondition(
            items.count == support.count && items.count == query.count, "batch: one support and one query list per item"
        )
        func rows(_ lists: [[Interaction]]) -> ItemTaskRows {
            let flat = lists.flatMap { $0 }
            let blocks =
                flat.isEmpty
                ? Tensor.zeros([0, model.userRepresentationWidth])
                : GradientMode.withoutRecording {
                    model.userRepresentation(EntityBatch(features.users, entities: flat.map(\.user)), parameters: base)
                        .detached()
                }
            return ItemTaskRows(
                userBlocks: blocks,
                users: flat.map(\.user),
                slots: lists.enumerated().flatMap { slot, list in list.map { _ in Int32(slot) } },
                labels: flat.map { $0.value >= 0.5 ? 1 : 0 })
        }
        return ItemTaskBatch(
            items: items,
            itemFeatures: model.itemFeatureRepresentation(
                EntityBatch(features.items, entities: items), parameters: base),
            support: rows(support), query: rows(query))
    }

    /// The click probabilities of each item's `query` users after reading its `support` (one forward
    /// pass, no gradient step): one flat list in item then query order.
    public func probabilities(
        items: [Int32], support: [[Interaction]], query: [[Interaction]], features: FeatureContext
    ) -> [Float] {
        let encoded = batch(items: items, support: support, query: query, features: features)
        let values = GradientMode.withoutRecording { logits(encoded).denseValues }
        return values.map { 1 / (1 + Foundation.exp(-$0)) }
    }

    /// Meta-trains on warm items with at least 2K interactions: K random ones are the support, K
    /// others the query; a seeded share of the items is held out and selects the epoch.
    @discardableResult
    public func fit(training: [Interaction], features: FeatureContext, monitor: TrainingMonitor = .silent) throws
        -> MetaEmbeddingTrainingSummary
    {
        let result = try WarmItemEpisodes.train(
            method: name, seedName: name.lowercased(), options: options, training: training, parameters: parameters,
            monitor: monitor, divergenceHint: "Lower \(name)'s learning rate.",
            batch: { batch(items: $0, support: $1, query: $2, features: features) },
            objective: { batch, training in
                training ? objective(batch) : GradientMode.withoutRecording { objective(batch) }
            })
        summary = result
        return result
    }
}
