import Foundation
import MetaRecCore
import MetaRecData

/// Serving a ``TaNP`` bundle (Lin et al., WWW 2021): adapting is one encoder pass over the
/// feedback into the task representation (no gradient step), which is the user's stored state;
/// ranking is ``TaNPRanker``'s cached pass over the catalogue, FiLM-modulated by that state.
extension Recommender {
    /// The catalogue's ranker: every item's representation and decoder part, computed once.
    static func tanpRanker(_ tanp: TaNP, generator: ParameterSet, table: FeatureTable, all: [Int32]) throws
        -> TaNPRanker
    {
        if !generator.names.isEmpty {
            let expected = [tanp.itemFeatureWidth, tanp.configuration.embeddingSize]
            guard tanp.configuration.itemIDEmbedding,
                generator[MetaEmbeddingGenerator.weightName]?.shape == expected,
                generator[MetaEmbeddingGenerator.biasName]?.shape == [expected[1]]
            else {
                throw ModelArchiveError(
                    path: "model",
                    reason:
                        "the bundle's meta-embedding generator does not fit this TaNP (it needs item-id embeddings and a \(expected) weight)"
                )
            }
        }
        return TaNPRanker(tanp, items: table, candidates: all)
    }

    /// A new item's representation from its features: feature embeddings, then (with item-id
    /// embeddings) the generated id embedding (Pan et al., SIGIR 2019) or zero, as training
    /// treats an item it never saw.
    static func tanpItemRow(_ tanp: TaNP, _ batch: EntityBatch, generator: ParameterSet, scale: Float?) -> [Float] {
        GradientMode.withoutRecording {
            let features = tanp.itemFeatureRepresentation(batch, tanp.parameters)
            guard tanp.configuration.itemIDEmbedding else { return features.denseValues }
            if let scale, let weight = generator[MetaEmbeddingGenerator.weightName],
                let bias = generator[MetaEmbeddingGenerator.biasName]
            {
                return features.denseValues + (tanh(linear(features, weight: weight, bias: bias)) * scale).denseValues
            }
            return features.denseValues + [Float](repeating: 0, count: tanp.configuration.embeddingSize)
        }
    }

    /// The stored state's task representation, or TaNP's learned prior when there is no state.
    static func tanpTaskRepresentation(_ ranker: TaNPRanker, state: AdaptedState?) throws -> [Float] {
        let size = ranker.tanp.configuration.representationSize
        guard let state, !state.values.isEmpty else {
            return ranker.tanp.parameters.tensor("encoder.empty").denseValues
        }
        guard state.values.count == size else {
            throw RecommenderError(
                .invalid,
                "the stored adapted state has \(state.values.count) values, this TaNP's task representation has \(size)"
            )
        }
        return state.values
    }
}

extension TaNP {
    /// Width of the items' feature embeddings alone (the meta-embedding generator's input).
    var itemFeatureWidth: Int { max(items.fields.count, 1) * configuration.embeddingSize }
}
