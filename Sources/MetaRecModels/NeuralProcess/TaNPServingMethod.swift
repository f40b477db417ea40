import Foundation
import MetaRecCore
import MetaRecData

/// Serving a ``TaNP`` bundle (Lin et al., WWW 2021): adapting is one encoder pass over the
/// feedback into the task representation (no gradient step), which is the user's stored state;
/// ranking is ``TaNPRanker``'s cached pass over the catalogue, FiLM-modulated by that state.
/// Row `r` of the ranker is catalogue row `r` (items added while serving included), so the
/// encoder reads feedback on any of them.
public struct TaNPServingMethod: ServingMethod {
    let ranker: TaNPRanker
    let generator: ParameterSet
    let generatorScale: Float?

    /// The catalogue's ranker: every item's representation and decoder part, computed once.
    init(tanp: TaNP, bundle: ModelBundle, catalogue: FeatureTable) throws {
        let generator = bundle.generator
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
        ranker = TaNPRanker(tanp, items: catalogue, candidates: (0..<catalogue.count).map(Int32.init))
        self.generator = generator
        generatorScale = bundle.description.generatorScale
    }

    private init(_ base: TaNPServingMethod, ranker: TaNPRanker) {
        self.ranker = ranker
        generator = base.generator
        generatorScale = base.generatorScale
    }

    public var methodName: String { "tanp" }
    public var objective: Objective { ranker.tanp.configuration.objective }
    public var stateSize: Int { ranker.tanp.configuration.representationSize }

    /// One encoder pass, over every item's cached row (items added while serving too).
    public func adapt(user: EntityBatch, userTable: FeatureTable, support: [(row: Int, target: Float)]) -> [Float] {
        ranker.taskRepresentation(user: user, support: support.map { ($0.row, $0.target) })
    }

    /// From the stored task representation, or TaNP's learned prior when there is no state.
    public func scores(user: EntityBatch, state: [Float]?) throws -> CatalogueScores {
        let size = ranker.tanp.configuration.representationSize
        let representation: [Float]
        if let state, !state.isEmpty {
            guard state.count == size else {
                throw stateSizeError(state.count, expected: size, of: "this TaNP's task representation has")
            }
            representation = state
        } else {
            representation = ranker.tanp.parameters.tensor("encoder.empty").denseValues
        }
        return CatalogueScores(values: ranker.scores(user: user, taskRepresentation: representation))
    }

    /// A new item's representation from its features: feature embeddings, then (with item-id
    /// embeddings) the generated id embedding (Pan et al., SIGIR 2019) or zero, as training
    /// treats an item it never saw.
    public func appending(item: EntityBatch) -> TaNPServingMethod {
        let tanp = ranker.tanp
        let itemRow = GradientMode.withoutRecording { () -> [Float] in
            let features = tanp.itemFeatureRepresentation(item, tanp.parameters)
            guard tanp.configuration.itemIDEmbedding else { return features.denseValues }
            if let generatorScale, let weight = generator[MetaEmbeddingGenerator.weightName],
                let bias = generator[MetaEmbeddingGenerator.biasName]
            {
                return features.denseValues
                    + (tanh(linear(features, weight: weight, bias: bias)) * generatorScale).denseValues
            }
            return features.denseValues + [Float](repeating: 0, count: tanp.configuration.embeddingSize)
        }
        return TaNPServingMethod(
            self,
            ranker: ranker.appending(candidates: [Int32(ranker.candidates.count)], itemRepresentations: itemRow))
    }
}

/// A TaNP's archive (kind `tanp`: its parameters and configuration) and its serving form.
extension TaNP: ServableMethod {
    public static var archiveKind: ModelArchive.Kind { .tanp }

    public static func restore(from archive: ModelArchive) throws -> TaNP {
        let header = archive.header
        guard let configuration = header.tanp else { throw archive.missing("TaNP configuration") }
        var random = SeededGenerator(seed: 0)
        try archive.checkParameters(
            expected: TaNP.initialParameters(configuration, users: header.users, items: header.items, using: &random))
        return TaNP(
            configuration: configuration, users: header.users, items: header.items, parameters: archive.parameters)
    }

    public func servingMethod(bundle: ModelBundle, catalogue: FeatureTable) throws -> any ServingMethod {
        try TaNPServingMethod(tanp: self, bundle: bundle, catalogue: catalogue)
    }

    /// Width of the items' feature embeddings alone (the meta-embedding generator's input).
    var itemFeatureWidth: Int { max(items.fields.count, 1) * configuration.embeddingSize }
}

extension ModelArchive.Kind {
    public static let tanp = Self(rawValue: "tanp")
}

extension ModelArchive {
    public init(_ tanp: TaNP, data: DataDescription) {
        self.init(
            header: Header(
                kind: .tanp, data: data, users: tanp.users, items: tanp.items, tanp: tanp.configuration,
                createdBy: MetaRecVersion.string),
            parameters: tanp.parameters, innerRates: [:])
    }
}
