import MetaRecCore
import MetaRecData

/// A word-vector file that cannot initialise a text field.
public struct TextEmbeddingError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension MeLUModel {
    /// The parameter holding the token embeddings of item text field `field`.
    public static func textEmbeddingName(field: String, side: String = "item") -> String {
        "\(side).\(field).embedding"
    }

    /// Copies `vectors` into the rows of text field `field`'s tokens in `parameters` (the other
    /// rows keep their random start) and returns how many tokens were found. To keep them fixed,
    /// add the field's parameter to `PretrainedNetwork.Options.frozenParameters`.
    @discardableResult
    public func initialiseTextEmbedding(
        _ parameters: ParameterSet, field: String, vocabulary: [String: Int32], vectors: WordVectors,
        side: String = "item"
    ) throws -> Int {
        let name = Self.textEmbeddingName(field: field, side: side)
        guard let table = parameters[name] else {
            throw TextEmbeddingError("the model has no text field '\(field)' (no parameter \(name))")
        }
        let width = table.shape[1]
        guard vectors.dimension == width else {
            throw TextEmbeddingError(
                "word vectors have \(vectors.dimension) dimensions; the text field '\(field)' embeds in \(width) (set the embedding size to \(vectors.dimension))"
            )
        }
        var found = 0
        for (token, row) in vocabulary {
            guard let vector = vectors.vectors[token], Int(row) < table.shape[0] else { continue }
            for j in 0..<width { table.values[Int(row) * width + j] = vector[j] }
            found += 1
        }
        return found
    }
}
