import MetaRecCore
import MetaRecData

/// Scores a whole catalogue for a new user with a trained ``TaNP`` in one pass: the items'
/// part of the decoder's hidden layer is computed once, here, so a request costs the encoder on
/// the support rows plus, per item, one add, a ReLU and a dot product with the FiLM-folded
/// output weights: Σⱼ wⱼγⱼ·relu(aᵢⱼ + cⱼ) + Σⱼ wⱼβⱼ + b.
public struct TaNPRanker: Sendable {
    public let candidates: [Int32]
    /// aᵢ = item representation × decoder.item.weight, row-major `[candidates, m]`.
    let itemParts: [Float]
    let width: Int
    let tanp: TaNP

    public init(_ tanp: TaNP, items: FeatureTable, candidates: [Int32]) {
        self.tanp = tanp
        self.candidates = candidates
        width = tanp.configuration.decoderSize
        itemParts = GradientMode.withoutRecording {
            matmul(
                tanp.itemRepresentation(EntityBatch(items, entities: candidates), tanp.parameters),
                tanp.parameters.tensor("decoder.item.weight")
            ).denseValues
        }
    }

    /// Scores (ratings, or click probabilities) of every candidate for the user of `task`
    /// (its support rows; its query rows are ignored).
    public func scores(_ task: PreparedTask) -> [Float] {
        let p = tanp.parameters
        let (userPart, weights, offset): ([Float], [Float], Float) = GradientMode.withoutRecording {
            let user = tanp.userRepresentation(task.userBatch, p)
            let film = tanp.modulation(
                tanp.taskRepresentation(user: user, supportItems: task.supportItems, targets: task.supportTargets, p), p
            )
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
