import Foundation
import MetaRecCore
import MetaRecData

/// Non-Linear Bias Adaptation (NLBA; Vartak et al., NeurIPS 2017, "A Meta-Learning Perspective on
/// Cold-Start Recommendations for Items", section 3.2): one network shared by all items whose
/// hidden layers' biases are set per item by its class representatives,
///
///     h₁ = relu([F(u), x]·W₁ + c₁ + R₀·V₀¹ + R₁·V₁¹),
///     hₗ = relu(hₗ₋₁·Wₗ + cₗ + R₀·V₀ˡ + R₁·V₁ˡ),   logit = h_L·w + b,
///
/// with F(u) the user representation, x the item's frozen content features (the base model's
/// item feature block), R₁ and R₀ the mean F of the item's engaged and non-engaged users so far
/// (learned defaults when a class has none). Only the biases depend on the item: weights are shared.
public final class NonlinearBiasAdaptation: ItemTaskAdaptation, @unchecked Sendable {
    public static func weightName(_ layer: Int) -> String { "nlba.layer\(layer).weight" }
    public static func biasName(_ layer: Int) -> String { "nlba.layer\(layer).bias" }
    public static func negativeBiasName(_ layer: Int) -> String { "nlba.layer\(layer).negative" }
    public static func positiveBiasName(_ layer: Int) -> String { "nlba.layer\(layer).positive" }
    public static let outputWeightName = "nlba.output.weight"
    public static let outputBiasName = "nlba.output.bias"

    public let model: MeLUModel
    public let base: ParameterSet
    public let options: MetaEmbeddingOptions
    public let hiddenSizes: [Int]
    public private(set) var parameters: ParameterSet
    public var summary: MetaEmbeddingTrainingSummary?
    public var name: String { "NLBA" }

    /// - Parameters:
    ///   - width: the size D of the user representation F(u).
    ///   - hiddenSizes: the shared network's hidden layers, each with adapted biases.
    public init(
        model: MeLUModel, base: ParameterSet, width: Int = 32, hiddenSizes: [Int] = [64, 32],
        options: MetaEmbeddingOptions = .init()
    ) throws {
        try options.validate()
        guard !hiddenSizes.isEmpty, hiddenSizes.allSatisfy({ $0 >= 1 }) else {
            throw MetaEmbeddingError("NLBA needs at least one hidden layer of positive size, got \(hiddenSizes)")
        }
        self.model = model
        self.base = ParameterSet(base.names.map { ($0, base.tensor($0).detached()) })
        self.options = options
        self.hiddenSizes = hiddenSizes
        var random = SeededGenerator(seed: options.seed).derived("nlba-init")
        var tensors = try ItemTaskParameters.shared(
            model: model, width: width, method: "NLBA", random: &random)
        func glorot(_ inputs: Int, _ outputs: Int) -> Tensor {
            let bound = (6 / Float(inputs + outputs)).squareRoot()
            return Tensor.uniform([inputs, outputs], low: -bound, high: bound, using: &random).asParameter()
        }
        var inputs = width + model.itemFeatureWidth
        for (layer, size) in hiddenSizes.enumerated() {
            tensors += [
                (Self.weightName(layer), glorot(inputs, size)),
                (Self.biasName(layer), Tensor.zeros([size]).asParameter()),
                (Self.negativeBiasName(layer), glorot(width, size)),
                (Self.positiveBiasName(layer), glorot(width, size)),
            ]
            inputs = size
        }
        tensors += [
            (Self.outputWeightName, glorot(inputs, 1)),
            (Self.outputBiasName, Tensor.zeros([1]).asParameter()),
        ]
        parameters = ParameterSet(tensors)
    }

    public func logits(
        users: Tensor, query: ItemTaskRows, negative: Tensor, positive: Tensor, itemFeatures: Tensor
    ) -> Tensor {
        let p = parameters
        let slots = query.slotLists
        var hidden = concatenateColumns([users, embeddingBag(itemFeatures, slots)])
        for layer in hiddenSizes.indices {
            // Per item: c + R₀·V₀ + R₁·V₁, then spread over the item's query rows.
            let itemBiases =
                matmul(negative, p.tensor(Self.negativeBiasName(layer)))
                + matmul(positive, p.tensor(Self.positiveBiasName(layer)))
            hidden = relu(
                linear(hidden, weight: p.tensor(Self.weightName(layer)), bias: p.tensor(Self.biasName(layer)))
                    + embeddingBag(itemBiases, slots))
        }
        return linear(hidden, weight: p.tensor(Self.outputWeightName), bias: p.tensor(Self.outputBiasName))
    }
}
