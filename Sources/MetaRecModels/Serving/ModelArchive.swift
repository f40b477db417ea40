import Foundation
import MetaRecCore
import MetaRecData

/// A trained method saved as one safetensors checkpoint: its parameters as tensors and, in the
/// header's metadata, everything needed to rebuild it (kind, model configuration, feature
/// spaces, adaptation rule, the data it was trained on), as JSON.
///
/// ```swift
/// try ModelArchive(learner, data: description).write(to: url)
/// let predictor = try ModelArchive(contentsOf: url).predictor()
/// ```
public struct ModelArchive: Sendable {
    public enum Kind: String, Codable, Sendable {
        case metaLearner = "meta-learner"
        case pretrained
        case covarianceHead = "covariance-head"
        case tanp
    }

    /// Where the training data came from, so that `recommend` and `evaluate` can rebuild the
    /// same split and vocabularies.
    public struct DataDescription: Codable, Sendable, Equatable {
        public var name: String
        public var source: String
        public var seed: UInt64
        public var implicitThreshold: Float?
        public init(name: String, source: String, seed: UInt64, implicitThreshold: Float?) {
            self.name = name
            self.source = source
            self.seed = seed
            self.implicitThreshold = implicitThreshold
        }
    }

    public struct Header: Codable, Sendable {
        public var kind: Kind
        public var data: DataDescription
        public var users: FeatureSpace
        public var items: FeatureSpace
        public var model: MeLUModel.Configuration?
        public var metaTraining: MetaTrainingOptions?
        public var pretraining: PretrainedNetwork.Options?
        public var fineTuning: AdaptationRule?
        public var covariance: CovarianceHead.Configuration?
        public var noiseVariance: Double?
        /// TaNP's configuration (kind `tanp`; absent from archives of the other kinds).
        public var tanp: TaNP.Configuration?
        /// Warm items the new-item prior Ψ was estimated on (covariance head; absent when the
        /// archive holds no Ψ, as in archives written before it was stored).
        public var newItemPriorItems: Int?
        public var createdBy: String
    }

    public var header: Header
    public var parameters: ParameterSet
    public var innerRates: [String: Tensor]
    public var priorCovariance: [Double]?
    /// Ψ, the prior of a new item's correction (``NewItemPrior``; covariance head only). Optional:
    /// without it, items added while serving are explored through the user's uncertainty alone.
    public var newItemPrior: NewItemPrior?

    static let headerKey = "metarec.model"
    static let newItemPriorKey = "new-item-prior.covariance"

    public init(_ learner: MetaLearner, data: DataDescription) {
        header = Header(
            kind: .metaLearner, data: data, users: learner.model.users, items: learner.model.items,
            model: learner.model.configuration, metaTraining: learner.options, createdBy: MetaRecVersion.string)
        parameters = learner.parameters
        innerRates = learner.innerRates
    }

    public init(_ network: PretrainedNetwork, data: DataDescription) {
        header = Header(
            kind: .pretrained, data: data, users: network.model.users, items: network.model.items,
            model: network.model.configuration, pretraining: network.options, fineTuning: network.fineTuning,
            createdBy: MetaRecVersion.string)
        parameters = network.parameters
        innerRates = [:]
    }

    /// - Parameter newItemPrior: Ψ for items added while serving (``CovarianceHead/newItemPrior``);
    ///   its noise variance is the head's.
    public init(_ head: CovarianceHead, data: DataDescription, newItemPrior: NewItemPrior? = nil) {
        header = Header(
            kind: .covarianceHead, data: data, users: head.users, items: head.items,
            covariance: head.configuration, noiseVariance: head.noiseVariance, createdBy: MetaRecVersion.string)
        parameters = head.parameters
        innerRates = [:]
        priorCovariance = head.priorCovariance
        self.newItemPrior = newItemPrior
    }

    public init(_ tanp: TaNP, data: DataDescription) {
        header = Header(
            kind: .tanp, data: data, users: tanp.users, items: tanp.items, tanp: tanp.configuration,
            createdBy: MetaRecVersion.string)
        parameters = tanp.parameters
        innerRates = [:]
    }

    public func write(to url: URL) throws {
        do {
            try checkpoint().write(to: url)
        } catch var error as ModelArchiveError {
            error.path = url.path
            throw error
        }
    }

    /// The archive as a checkpoint (tensors plus the JSON header), for writers that add to it.
    public func checkpoint() throws -> Checkpoint {
        var tensors: [String: StoredTensor] = [:]
        for name in parameters.names {
            let tensor = parameters.tensor(name)
            tensors["parameter." + name] = StoredTensor(shape: tensor.shape, values: tensor.denseValues)
        }
        for (name, rate) in innerRates {
            tensors["inner-rate." + name] = StoredTensor(shape: rate.shape, values: rate.denseValues)
        }
        if let prior = priorCovariance {
            let k = Int(Double(prior.count).squareRoot())
            tensors["prior.covariance"] = StoredTensor(shape: [k, k], values: prior.map(Float.init))
        }
        if let newItemPrior {
            let k = newItemPrior.dimension
            tensors[Self.newItemPriorKey] = StoredTensor(
                shape: [k, k], values: newItemPrior.covariance.map(Float.init))
        }
        // A diverged model must never replace a good one.
        for name in tensors.keys.sorted() {
            if let index = tensors[name]!.values.firstIndex(where: { !$0.isFinite }) {
                throw ModelArchiveError(
                    path: "model",
                    reason:
                        "'\(name)' holds \(tensors[name]!.values[index]) at element \(index): a model with non-finite weights is not saved; retrain with a lower learning rate"
                )
            }
        }
        var header = self.header
        header.newItemPriorItems = newItemPrior?.items
        let json = try JSONFormat.string(header, pretty: false)
        return Checkpoint(tensors: tensors, metadata: [Self.headerKey: json])
    }

    public init(contentsOf url: URL) throws {
        try self.init(checkpoint: try Checkpoint(contentsOf: url), source: url)
    }

    /// Reads the method from a checkpoint already in memory; `source` names it in errors.
    public init(checkpoint: Checkpoint, source url: URL) throws {
        guard let json = checkpoint.metadata[Self.headerKey] else {
            throw ModelArchiveError(
                path: url.path,
                reason: "no '\(Self.headerKey)' entry in the checkpoint's metadata; it is not a MetaRec model")
        }
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(json.utf8))
        } catch {
            throw ModelArchiveError(path: url.path, reason: "the model description cannot be read: \(error)")
        }
        var parameters = ParameterSet()
        var rates: [String: Tensor] = [:]
        for name in checkpoint.tensors.keys.sorted() {
            let stored = checkpoint.tensors[name]!
            let tensor = Tensor(shape: stored.shape, values: stored.values, requiresGradient: true)
            if name.hasPrefix("parameter.") {
                parameters[String(name.dropFirst("parameter.".count))] = tensor
            } else if name.hasPrefix("inner-rate.") {
                rates[String(name.dropFirst("inner-rate.".count))] = tensor
            } else if name == "prior.covariance" {
                priorCovariance = stored.values.map(Double.init)
            } else if name == Self.newItemPriorKey {
                guard stored.shape.count == 2, stored.shape[0] == stored.shape[1] else {
                    throw ModelArchiveError(
                        path: url.path, reason: "'\(name)' has shape \(stored.shape); expected a square matrix")
                }
                newItemPrior = NewItemPrior(
                    covariance: stored.values.map(Double.init), noiseVariance: header.noiseVariance ?? 1,
                    items: header.newItemPriorItems ?? 0)
            }
        }
        self.parameters = parameters
        self.innerRates = rates
    }

    /// The saved method, ready to predict.
    public func predictor() throws -> ColdStartPredictor {
        switch header.kind {
        case .metaLearner:
            guard let configuration = header.model, let options = header.metaTraining else {
                throw missing("model configuration")
            }
            let model = MeLUModel(configuration: configuration, users: header.users, items: header.items)
            try checkParameters(
                expected: {
                    var r = SeededGenerator(seed: 0)
                    return model.initialParameters(using: &r)
                }())
            return MetaLearner(model: model, options: options, parameters: parameters, innerRates: innerRates)
        case .pretrained:
            guard let configuration = header.model, let options = header.pretraining else {
                throw missing("model configuration")
            }
            let model = MeLUModel(configuration: configuration, users: header.users, items: header.items)
            try checkParameters(
                expected: {
                    var r = SeededGenerator(seed: 0)
                    return model.initialParameters(using: &r)
                }())
            let network = PretrainedNetwork(model: model, options: options, parameters: parameters)
            network.fineTuning = header.fineTuning
            return network
        case .covarianceHead:
            guard let configuration = header.covariance, let prior = priorCovariance else {
                throw missing("covariance configuration or prior")
            }
            var random = SeededGenerator(seed: 0)
            try checkParameters(
                expected: CovarianceHead.initialParameters(
                    configuration, users: header.users, items: header.items, using: &random))
            return CovarianceHead(
                configuration: configuration, users: header.users, items: header.items,
                parameters: parameters, priorCovariance: prior, noiseVariance: header.noiseVariance ?? 1)
        case .tanp:
            guard let configuration = header.tanp else { throw missing("TaNP configuration") }
            var random = SeededGenerator(seed: 0)
            try checkParameters(
                expected: TaNP.initialParameters(
                    configuration, users: header.users, items: header.items, using: &random))
            return TaNP(configuration: configuration, users: header.users, items: header.items, parameters: parameters)
        }
    }

    private func missing(_ what: String) -> ModelArchiveError {
        ModelArchiveError(path: header.data.source, reason: "the archive lacks its \(what)")
    }

    /// Every parameter the architecture needs is present with the right shape.
    private func checkParameters(expected: ParameterSet) throws {
        for name in expected.names {
            guard let tensor = parameters[name] else {
                throw ModelArchiveError(path: "checkpoint", reason: "parameter '\(name)' is missing")
            }
            guard tensor.shape == expected.tensor(name).shape else {
                throw ModelArchiveError(
                    path: "checkpoint",
                    reason:
                        "parameter '\(name)' has shape \(tensor.shape), the architecture needs \(expected.tensor(name).shape)"
                )
            }
        }
    }
}

public struct ModelArchiveError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
