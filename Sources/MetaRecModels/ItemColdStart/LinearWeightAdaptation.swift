import Foundation
import MetaRecCore
import MetaRecData

/// Linear Weight Adaptation (LWA; Vartak et al., NeurIPS 2017, "A Meta-Learning Perspective on
/// Cold-Start Recommendations for Items", section 3.1): each item gets a logistic-regression
/// scorer over the user representation whose weights are a learned combination of its class
/// representatives,
///
///     logit(u, item) = F(u)·w + b,   w = a₁ ⊙ R₁ + a₀ ⊙ R₀,
///
/// with R₁ and R₀ the mean F of the item's engaged and non-engaged users so far (learned defaults
/// when a class has none) and a₁, a₀ learned per-dimension (the paper writes them as scalars; a
/// vector lets each dimension of F weigh differently) and b a shared bias. At the start a₁ = 1,
/// a₀ = −1: w = R₁ − R₀, a nearest-class-mean direction.
public final class LinearWeightAdaptation: ItemTaskAdaptation, @unchecked Sendable {
    public static let positiveScaleName = "lwa.positive.scale"
    public static let negativeScaleName = "lwa.negative.scale"
    public static let biasName = "lwa.bias"

    public let model: MeLUModel
    public let base: ParameterSet
    public let options: MetaEmbeddingOptions
    public private(set) var parameters: ParameterSet
    public var summary: MetaEmbeddingTrainingSummary?
    public var name: String { "LWA" }

    /// - Parameter width: the size D of the user representation F(u).
    public init(model: MeLUModel, base: ParameterSet, width: Int = 32, options: MetaEmbeddingOptions = .init()) throws {
        try options.validate()
        self.model = model
        self.base = ParameterSet(base.names.map { ($0, base.tensor($0).detached()) })
        self.options = options
        var random = SeededGenerator(seed: options.seed).derived("lwa-init")
        let shared = try ItemTaskParameters.shared(
            model: model, width: width, method: "LWA", random: &random)
        parameters = ParameterSet(
            shared + [
                (Self.positiveScaleName, Tensor.filled([width], with: 1).asParameter()),
                (Self.negativeScaleName, Tensor.filled([width], with: -1).asParameter()),
                (Self.biasName, Tensor.zeros([1]).asParameter()),
            ])
    }

    public func logits(
        users: Tensor, query: ItemTaskRows, negative: Tensor, positive: Tensor, itemFeatures: Tensor
    ) -> Tensor {
        let weights =
            positive * parameters.tensor(Self.positiveScaleName) + negative * parameters.tensor(Self.negativeScaleName)
        let perRow = embeddingBag(weights, query.slotLists)
        return (users * perRow).sumRows().reshaped([query.count, 1]) + parameters.tensor(Self.biasName)
    }
}
