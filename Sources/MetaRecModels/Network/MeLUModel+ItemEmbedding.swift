import MetaRecCore
import MetaRecData

/// Helpers to substitute an item's ID embedding, for meta-embeddings (Pan et al., "Warm Up
/// Cold-start Advertisements: Improving CTR Predictions via Learning to Learn ID Embeddings",
/// SIGIR 2019).
extension MeLUModel {
    /// Name of the item-id embedding table (present when `configuration.itemIDEmbedding`).
    public static let itemIDEmbeddingName = ParameterName.itemIDEmbedding

    /// Width of the user block of the representation.
    public var userRepresentationWidth: Int {
        (max(users.fields.count, 1) + (configuration.userIDEmbedding ? 1 : 0)) * configuration.embeddingSize
    }

    /// Width of the item feature block (without the id embedding).
    public var itemFeatureWidth: Int { max(items.fields.count, 1) * configuration.embeddingSize }

    /// The items' feature block without the id embedding, cut from the graph: `[rows, itemFeatureWidth]`.
    public func itemFeatureRepresentation(_ batch: EntityBatch, parameters: ParameterSet) -> Tensor {
        GradientMode.withoutRecording {
            let full = itemRepresentation(batch, parameters: parameters)
            let width = itemFeatureWidth
            return full.shape[1] == width ? full.detached() : full.columns(0..<width).detached()
        }
    }

    /// The representation with the item-id block given explicitly, in `representation`'s column
    /// order (user block, item feature blocks, id block). Each argument has one row per pair,
    /// or one row shared by all.
    public func representation(userPart: Tensor, itemFeatures: Tensor, itemIDEmbedding: Tensor) -> Tensor {
        precondition(
            configuration.itemIDEmbedding,
            "representation(userPart:itemFeatures:itemIDEmbedding:): the model has no item-id embedding")
        let rows = max(userPart.shape[0], itemFeatures.shape[0], itemIDEmbedding.shape[0])
        func spread(_ part: Tensor) -> Tensor {
            part.shape[0] == rows ? part : part.expanded(to: [rows, part.shape[1]])
        }
        return concatenateColumns([spread(userPart), spread(itemFeatures), spread(itemIDEmbedding)])
    }
}
