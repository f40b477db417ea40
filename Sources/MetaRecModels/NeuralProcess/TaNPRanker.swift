import MetaRecCore
import MetaRecData

/// Scores a whole catalogue for a new user with a trained ``TaNP`` in one pass: the items'
/// part of the decoder's hidden layer is computed once, here, so a request costs the encoder on
/// the support rows plus, per item, one add, a ReLU and a dot product with the FiLM-folded
/// output weights: Σⱼ wⱼγⱼ·relu(aᵢⱼ + cⱼ) + Σⱼ wⱼβⱼ + b.
///
/// The items' representations are kept too, so the encoder reads a support row of any
/// candidate (also one added at run time) without a feature table: serving adapts a user with
/// ``taskRepresentation(user:support:)`` and scores with ``scores(user:taskRepresentation:)``.
public struct TaNPRanker: Sendable {
    public let candidates: [Int32]
    /// aᵢ = item representation × decoder.item.weight, row-major `[candidates, m]`.
    let itemParts: [Float]
    /// The items' representations, row-major `[candidates, itemWidth]` (the encoder's input).
    let itemRows: [Float]
    let width: Int
    let tanp: TaNP

    public init(_ tanp: TaNP, items: FeatureTable, candidates: [Int32]) {
        let rows = GradientMode.withoutRecording {
            tanp.itemRepresentation(EntityBatch(items, entities: candidates), tanp.parameters).denseValues
        }
        self.init(tanp, candidates: candidates, itemRepresentations: rows)
    }

    /// A ranker over candidates whose item representations (`[candidates, itemWidth]`,
    /// row-major) are already known, e.g. a new item's from its features and a generated id
    /// embedding.
    public init(_ tanp: TaNP, candidates: [Int32], itemRepresentations: [Float]) {
        precondition(
            itemRepresentations.count == candidates.count * tanp.itemWidth,
            "\(candidates.count) candidates need \(candidates.count * tanp.itemWidth) representation values")
        self.tanp = tanp
        self.candidates = candidates
        width = tanp.configuration.decoderSize
        itemRows = itemRepresentations
        itemParts = Self.decoderParts(tanp, itemRepresentations, count: candidates.count)
    }

    private init(_ base: TaNPRanker, candidates: [Int32], itemRows: [Float], itemParts: [Float]) {
        tanp = base.tanp
        width = base.width
        self.candidates = candidates
        self.itemRows = itemRows
        self.itemParts = itemParts
    }

    private static func decoderParts(_ tanp: TaNP, _ rows: [Float], count: Int) -> [Float] {
        guard count > 0 else { return [] }
        return GradientMode.withoutRecording {
            matmul(
                Tensor(shape: [count, tanp.itemWidth], values: rows), tanp.parameters.tensor("decoder.item.weight")
            ).denseValues
        }
    }

    /// This ranker with more candidates, whose representations are `[new, itemWidth]` row-major.
    public func appending(candidates added: [Int32], itemRepresentations: [Float]) -> TaNPRanker {
        precondition(itemRepresentations.count == added.count * tanp.itemWidth)
        return TaNPRanker(
            self, candidates: candidates + added, itemRows: itemRows + itemRepresentations,
            itemParts: itemParts + Self.decoderParts(tanp, itemRepresentations, count: added.count))
    }

    /// Scores (ratings, or click probabilities) of every candidate for the user of `task`
    /// (its support rows; its query rows are ignored).
    public func scores(_ task: PreparedTask) -> [Float] {
        let representation = GradientMode.withoutRecording {
            let p = tanp.parameters
            return tanp.taskRepresentation(
                user: tanp.userRepresentation(task.userBatch, p), supportItems: task.supportItems,
                targets: task.supportTargets, p
            ).denseValues
        }
        return scores(user: task.userBatch, taskRepresentation: representation)
    }

    /// The task representation (`representationSize` values) of a user who gave `support`:
    /// positions in `candidates` and targets (ratings, or 0/1 clicks). No support: the prior.
    public func taskRepresentation(user: EntityBatch, support: [(index: Int, target: Float)]) -> [Float] {
        guard !support.isEmpty else { return tanp.parameters.tensor("encoder.empty").denseValues }
        let itemWidth = tanp.itemWidth
        var rows = [Float]()
        rows.reserveCapacity(support.count * itemWidth)
        for entry in support { rows += itemRows[(entry.index * itemWidth)..<((entry.index + 1) * itemWidth)] }
        return GradientMode.withoutRecording {
            let p = tanp.parameters
            return tanp.taskRepresentation(
                user: tanp.userRepresentation(user, p),
                supportRows: Tensor(shape: [support.count, itemWidth], values: rows),
                targets: Tensor(shape: [support.count, 1], values: support.map(\.target)), p
            ).denseValues
        }
    }

    /// Scores of every candidate for a user with these features and task representation.
    public func scores(user: EntityBatch, taskRepresentation: [Float]) -> [Float] {
        let p = tanp.parameters
        let (userPart, weights, offset): ([Float], [Float], Float) = GradientMode.withoutRecording {
            let user = tanp.userRepresentation(user, p)
            let film = tanp.modulation(
                Tensor(shape: [1, taskRepresentation.count], values: taskRepresentation), p)
            let userPart = (matmul(user, p.tensor("decoder.user.weight")) + p.tensor("decoder.user.bias")).denseValues
            let output = p.tensor("output.weight").denseValues
            let weights = zip(output, film.scale.denseValues).map { $0 * $1 }
            let offset = zip(output, film.shift.denseValues).reduce(p.tensor("output.bias").denseValues[0]) {
                $0 + $1.0 * $1.1
            }
            return (userPart, weights, offset)
        }
        let m = width
        var result = [Float](repeating: 0, count: candidates.count)
        itemParts.withUnsafeBufferPointer { a in
            userPart.withUnsafeBufferPointer { c in
                weights.withUnsafeBufferPointer { w in
                    for i in 0..<candidates.count {
                        var total = offset
                        let base = i * m
                        for j in 0..<m { total += w[j] * max(a[base + j] + c[j], 0) }
                        result[i] = total
                    }
                }
            }
        }
        return tanp.score(result)
    }
}
