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
    /// The method an archive holds, as its header names it ("meta-learner", "pretrained",
    /// "covariance-head", "tanp"): each method declares its own in its folder
    /// (``ServableMethod/archiveKind``), and ``methods`` maps it to the type that reads it.
    public struct Kind: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        /// A bare string, as the header has always held it.
        public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }
    }

    /// Every method an archive can hold: adding one is its folder plus one line here.
    public static let methods: [any ServableMethod.Type] = [
        MetaLearner.self, PretrainedNetwork.self, CovarianceHead.self, TaNP.self,
    ]

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

    /// The parts of an archive; each method's own initialiser (`ModelArchive(learner, data:)`,
    /// in the method's folder) fills them.
    init(
        header: Header, parameters: ParameterSet, innerRates: [String: Tensor], priorCovariance: [Double]? = nil,
        newItemPrior: NewItemPrior? = nil
    ) {
        self.header = header
        self.parameters = parameters
        self.innerRates = innerRates
        self.priorCovariance = priorCovariance
        self.newItemPrior = newItemPrior
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

    /// The saved method, ready to predict (and to serve: ``ServableMethod``).
    public func predictor() throws -> any ServableMethod {
        guard let method = Self.methods.first(where: { $0.archiveKind == header.kind }) else {
            throw ModelArchiveError(
                path: header.data.source,
                reason:
                    "the archive holds a '\(header.kind)' model, which this version does not know (it knows \(Self.methods.map { "'\($0.archiveKind)'" }.joined(separator: ", ")))"
            )
        }
        return try method.restore(from: self)
    }

    func missing(_ what: String) -> ModelArchiveError {
        ModelArchiveError(path: header.data.source, reason: "the archive lacks its \(what)")
    }

    /// Every parameter the architecture needs is present with the right shape.
    func checkParameters(expected: ParameterSet) throws {
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
