import Foundation
import MetaRecCore
import MetaRecData

/// Serving a MeLU-family network (``MetaLearner``, ``PretrainedNetwork``): adapting is the
/// inference-time inner loop on the adaptive partition (MAML, Finn et al. 2017), whose values
/// are the stored state; scoring is ``CandidateRanker``'s cached pass over the catalogue with
/// the state substituted into the shared parameters. Items added while serving get their row
/// from their features and the meta-embedding generator (Pan et al., SIGIR 2019).
public struct NetworkServingMethod: ServingMethod {
    public let methodName: String
    let model: MeLUModel
    /// Detached: serving never records a graph.
    let parameters: ParameterSet
    let rule: AdaptationRule?
    let rates: [String: Tensor]
    let ranker: CandidateRanker
    /// The training catalogue's rows: adaptation reads support rows from it (items added while
    /// serving are scored, not adapted on).
    let catalogue: FeatureTable
    let generator: ParameterSet
    let generatorScale: Float?

    /// Caches every catalogue row under `parameters`; the adaptive partition must leave the item
    /// embeddings shared, since the rows are cached.
    init(
        methodName: String, model: MeLUModel, parameters: ParameterSet, rule: AdaptationRule?,
        rates: [String: Tensor], bundle: ModelBundle, catalogue: FeatureTable
    ) throws {
        if let rule, parameters.names.contains(where: { $0.hasPrefix("item.") && rule.partition.adapts($0) }) {
            throw ModelArchiveError(
                path: "model",
                reason:
                    "serving caches item rows, so the adaptive partition (\(rule.partition)) must leave item embeddings shared"
            )
        }
        let detached = ParameterSet(parameters.names.map { ($0, parameters.tensor($0).detached()) })
        self.methodName = methodName
        self.model = model
        self.parameters = detached
        self.rule = rule
        self.rates = rates
        self.catalogue = catalogue
        generator = bundle.generator
        generatorScale = bundle.description.generatorScale
        ranker = CandidateRanker(
            model: model, parameters: detached, items: catalogue,
            candidates: (0..<catalogue.count).map(Int32.init),
            adaptive: Set(rule.map { $0.partition.adaptive(parameters.names) } ?? []))
    }

    private init(_ base: NetworkServingMethod, ranker: CandidateRanker) {
        methodName = base.methodName
        model = base.model
        parameters = base.parameters
        rule = base.rule
        rates = base.rates
        catalogue = base.catalogue
        generator = base.generator
        generatorScale = base.generatorScale
        self.ranker = ranker
    }

    public var objective: Objective { model.configuration.objective }

    public var stateSize: Int {
        guard let rule else { return 0 }
        return rule.partition.adaptive(parameters.names).reduce(0) { $0 + parameters.tensor($1).shape.reduce(1, *) }
    }

    public func adapt(user: EntityBatch, userTable: FeatureTable, support: [(row: Int, target: Float)]) -> [Float] {
        guard let rule else { return [] }
        let known = support.filter { $0.row < catalogue.count }
        let names = rule.partition.adaptive(parameters.names)
        let interactions = known.enumerated().map {
            Interaction(user: 0, item: Int32($1.row), value: $1.target, timestamp: Int64($0))
        }
        let task = PreparedTask(
            userBatch: user, support: interactions, query: [],
            features: FeatureContext(users: userTable, items: catalogue))
        let fast = model.adaptForInference(parameters, to: task, rule: rule, rates: rates)
        return names.flatMap { fast.tensor($0).denseValues }
    }

    public func scores(user: EntityBatch, state: [Float]?) throws -> CatalogueScores {
        var fast = parameters
        if let state, let rule, !state.isEmpty {
            fast = try substituting(state, into: rule.partition.adaptive(parameters.names))
        }
        let representation = GradientMode.withoutRecording { model.userRepresentation(user, parameters: fast) }
        return CatalogueScores(values: model.score(ranker.scores(userRepresentation: representation, parameters: fast)))
    }

    public func appending(item: EntityBatch) -> NetworkServingMethod {
        let itemRow = GradientMode.withoutRecording { () -> [Float] in
            let featureBlock = model.itemFeatureRepresentation(item, parameters: parameters)
            guard model.configuration.itemIDEmbedding else { return featureBlock.denseValues }
            let idEmbedding: [Float]
            if let generatorScale, let weight = generator[MetaEmbeddingGenerator.weightName],
                let bias = generator[MetaEmbeddingGenerator.biasName]
            {
                idEmbedding = (tanh(linear(featureBlock, weight: weight, bias: bias)) * generatorScale).denseValues
            } else {
                idEmbedding = [Float](repeating: 0, count: model.configuration.embeddingSize)  // as training treats unseen items
            }
            return featureBlock.denseValues + idEmbedding
        }
        return NetworkServingMethod(
            self, ranker: ranker.appending(candidates: [Int32(ranker.candidates.count)], itemRows: itemRow))
    }

    /// The stored state's floats back in the adaptive tensors' shapes.
    private func substituting(_ state: [Float], into names: [String]) throws -> ParameterSet {
        var offset = 0
        var substitutes: [String: Tensor] = [:]
        for name in names {
            let shape = parameters.tensor(name).shape
            let size = shape.reduce(1, *)
            guard offset + size <= state.count else { break }
            substitutes[name] = Tensor(shape: shape, values: Array(state[offset..<(offset + size)]))
            offset += size
        }
        guard offset == state.count, substitutes.count == names.count else {
            throw stateSizeError(state.count, expected: offset, of: "this model's adaptive part has")
        }
        return parameters.replacing(substitutes)
    }
}

extension ModelArchive {
    /// The MeLU-family network the header describes, its parameters checked against it (the
    /// meta-learner's and the pretrained network's archives share it).
    func network() throws -> MeLUModel {
        guard let configuration = header.model else { throw missing("model configuration") }
        let model = MeLUModel(configuration: configuration, users: header.users, items: header.items)
        var random = SeededGenerator(seed: 0)
        try checkParameters(expected: model.initialParameters(using: &random))
        return model
    }
}
