import Foundation
import MetaRecCore
import MetaRecData

/// What the model predicts: a rating (squared loss) or a click (logistic loss).
public enum Objective: String, Sendable, Codable {
    case rating, click
}

/// The MeLU model (Lee et al., "MeLU: Meta-Learned User Preference Estimator for Cold-Start
/// Recommendation", KDD 2019): an embedding table per user and item feature (multi-valued
/// features mean-pooled), their concatenation, and an MLP of "decision layers" that gives a
/// rating or a click logit.
///
/// The model is a pure function of a ``ParameterSet``, so meta-learners can substitute fast
/// weights for the adaptive part.
///
/// ```swift
/// let model = MeLUModel(configuration: .init(), users: FeatureSpace(split.userFeatures),
///                       items: FeatureSpace(split.itemFeatures))
/// var random = SeededGenerator(seed: 0)
/// let parameters = model.initialParameters(using: &random)
/// let ratings = model.predict(user: userBatch, items: itemBatch, parameters: parameters)
/// ```
public struct MeLUModel: Sendable {
    public struct Configuration: Sendable, Codable, Equatable {
        /// Width of each field's embedding (MeLU: 32).
        public var embeddingSize: Int = 32
        /// Hidden widths of the decision layers (MeLU: 64, 64).
        public var hiddenSizes: [Int] = [64, 64]
        /// Adds a learned embedding of the item's id (useless for new items, helpful for warm ones).
        public var itemIDEmbedding: Bool = false
        public var objective: Objective = .rating
        /// Starting value of the output bias: the global mean rating, or the click log-odds.
        public var outputBias: Float = 0
        /// A per-unit scale and shift after each hidden layer (1 and 0 at first): a small part
        /// that can adapt per user instead of whole layers (the `modulation` partition).
        public var modulation: Bool = false
        /// Adds a learned embedding of the user's id: a user with warm history (an existing user
        /// meeting new items) starts from what training learned about them; a user training never
        /// saw has a zero row and starts from the features alone.
        public var userIDEmbedding: Bool = false

        public init(
            embeddingSize: Int = 32, hiddenSizes: [Int] = [64, 64], itemIDEmbedding: Bool = false,
            objective: Objective = .rating, outputBias: Float = 0, modulation: Bool = false,
            userIDEmbedding: Bool = false
        ) {
            self.embeddingSize = embeddingSize
            self.hiddenSizes = hiddenSizes
            self.itemIDEmbedding = itemIDEmbedding
            self.objective = objective
            self.outputBias = outputBias
            self.modulation = modulation
            self.userIDEmbedding = userIDEmbedding
        }

        private enum CodingKeys: String, CodingKey {
            case embeddingSize, hiddenSizes, itemIDEmbedding, objective, outputBias, modulation, userIDEmbedding
        }

        /// Decodes configurations written before `userIDEmbedding` existed as without it.
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            embeddingSize = try container.decode(Int.self, forKey: .embeddingSize)
            hiddenSizes = try container.decode([Int].self, forKey: .hiddenSizes)
            itemIDEmbedding = try container.decode(Bool.self, forKey: .itemIDEmbedding)
            objective = try container.decode(Objective.self, forKey: .objective)
            outputBias = try container.decode(Float.self, forKey: .outputBias)
            modulation = try container.decode(Bool.self, forKey: .modulation)
            userIDEmbedding = try container.decodeIfPresent(Bool.self, forKey: .userIDEmbedding) ?? false
        }
    }

    public var configuration: Configuration
    public var users: FeatureSpace
    public var items: FeatureSpace

    public init(configuration: Configuration, users: FeatureSpace, items: FeatureSpace) {
        self.configuration = configuration
        self.users = users
        self.items = items
    }

    /// Width of the concatenated user and item representation.
    public var representationWidth: Int {
        (users.fields.count + items.fields.count + (configuration.itemIDEmbedding ? 1 : 0)
            + (configuration.userIDEmbedding ? 1 : 0)) * configuration.embeddingSize
    }

    /// Fresh parameters: feature embeddings N(0, 0.1²), item-id embeddings zero, Glorot-uniform layers.
    public func initialParameters(using random: inout SeededGenerator) -> ParameterSet {
        var parameters = ParameterSet()
        let size = configuration.embeddingSize
        for (side, space) in [(ParameterName.Side.user, users), (.item, items)] {
            for field in space.fields {
                if field.isEmbedded {
                    parameters[ParameterName.field(side, field.name, embedded: true)] = Tensor.normal(
                        [max(field.size, 1), size], standardDeviation: 0.1, using: &random, requiresGradient: true)
                } else {
                    let bound = (6 / Float(field.size + size)).squareRoot()
                    parameters[ParameterName.field(side, field.name, embedded: false)] = Tensor.uniform(
                        [field.size, size], low: -bound, high: bound, using: &random, requiresGradient: true)
                }
            }
        }
        if configuration.itemIDEmbedding {
            // Zeros: an item training never saw (a new item) then adds nothing instead of noise.
            parameters[ParameterName.itemIDEmbedding] = Tensor.zeros([max(items.entityCount, 1), size]).asParameter()
        }
        if configuration.userIDEmbedding {
            parameters[ParameterName.userIDEmbedding] = Tensor.zeros([max(users.entityCount, 1), size]).asParameter()
        }
        var width = representationWidth
        for (index, hidden) in configuration.hiddenSizes.enumerated() {
            let bound = (6 / Float(width + hidden)).squareRoot()
            parameters[ParameterName.decisionWeight(index)] = Tensor.uniform(
                [width, hidden], low: -bound, high: bound, using: &random, requiresGradient: true)
            parameters[ParameterName.decisionBias(index)] = Tensor(
                shape: [hidden], values: .init(repeating: 0, count: hidden), requiresGradient: true)
            if configuration.modulation {
                parameters[ParameterName.modulationScale(index)] = Tensor.filled([hidden], with: 1).asParameter()
                parameters[ParameterName.modulationShift(index)] = Tensor.zeros([hidden]).asParameter()
            }
            width = hidden
        }
        let bound = (6 / Float(width + 1)).squareRoot()
        parameters[ParameterName.outputWeight] = Tensor.uniform(
            [width, 1], low: -bound, high: bound, using: &random, requiresGradient: true)
        parameters[ParameterName.outputBias] = Tensor(
            shape: [1], values: [configuration.outputBias], requiresGradient: true)
        return parameters
    }

    /// The concatenated feature embeddings of (user, item) pairs: `[items.rows, representationWidth]`.
    /// A user batch of one row is shared by all item rows.
    public func representation(user: EntityBatch, items batch: EntityBatch, parameters: ParameterSet) -> Tensor {
        let userPart = userRepresentation(user, parameters: parameters)
        let itemPart = itemRepresentation(batch, parameters: parameters)
        let rows = batch.rows
        let sharedUser = user.rows == 1 && rows != 1 ? userPart.expanded(to: [rows, userPart.shape[1]]) : userPart
        return concatenateColumns([sharedUser, itemPart])
    }

    /// The user's block of the representation: `[user.rows, userWidth]`.
    public func userRepresentation(_ user: EntityBatch, parameters: ParameterSet) -> Tensor {
        var parts = embedParts(side: .user, space: users, batch: user, parameters: parameters)
        if configuration.userIDEmbedding {
            parts.append(embeddingBag(parameters.tensor(ParameterName.userIDEmbedding), user.ids))
        }
        return concatenateColumns(parts)
    }

    /// The items' block of the representation (feature embeddings, then the id embedding).
    public func itemRepresentation(_ batch: EntityBatch, parameters: ParameterSet) -> Tensor {
        var parts = embedParts(side: .item, space: items, batch: batch, parameters: parameters)
        if configuration.itemIDEmbedding {
            parts.append(embeddingBag(parameters.tensor(ParameterName.itemIDEmbedding), batch.ids))
        }
        return concatenateColumns(parts)
    }

    /// The decision layers applied to a representation: `[rows, 1]` ratings or click logits.
    public func decide(_ representation: Tensor, parameters: ParameterSet) -> Tensor {
        var hidden = representation
        for index in configuration.hiddenSizes.indices {
            hidden = relu(
                linear(
                    hidden, weight: parameters.tensor(ParameterName.decisionWeight(index)),
                    bias: parameters.tensor(ParameterName.decisionBias(index))))
            if configuration.modulation {
                hidden =
                    hidden * parameters.tensor(ParameterName.modulationScale(index))
                    + parameters.tensor(ParameterName.modulationShift(index))
            }
        }
        return linear(
            hidden, weight: parameters.tensor(ParameterName.outputWeight),
            bias: parameters.tensor(ParameterName.outputBias))
    }

    /// Predictions (ratings, or click logits) for one user's items or for row-aligned pairs.
    public func predict(user: EntityBatch, items batch: EntityBatch, parameters: ParameterSet) -> Tensor {
        decide(representation(user: user, items: batch, parameters: parameters), parameters: parameters)
    }

    /// The training loss of predictions against targets: MSE for ratings, logistic loss for clicks.
    public func loss(_ predictions: Tensor, _ targets: Tensor) -> Tensor {
        switch configuration.objective {
        case .rating: return meanSquaredError(predictions, targets)
        case .click: return binaryCrossEntropy(logits: predictions, labels: targets)
        }
    }

    /// Maps raw outputs to the scale the metrics use: ratings as they are, clicks as probabilities.
    public func score(_ outputs: [Float]) -> [Float] {
        switch configuration.objective {
        case .rating: return outputs
        case .click: return outputs.map { 1 / (1 + Foundation.exp(-$0)) }
        }
    }

    private func embedParts(side: ParameterName.Side, space: FeatureSpace, batch: EntityBatch, parameters: ParameterSet)
        -> [Tensor]
    {
        space.embeddings(of: batch, side: side, parameters: parameters, width: configuration.embeddingSize)
    }
}
