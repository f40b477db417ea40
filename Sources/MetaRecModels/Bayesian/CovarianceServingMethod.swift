import Foundation
import MetaRecCore
import MetaRecData

/// Serving a ``CovarianceHead``: adapting is the exact Gaussian posterior of the user's linear
/// part given the feedback's cached rows of Φ (no gradient step); the stored state is its mean
/// and covariance. Scores are Φm, with the predictive variance φᵀSφ for exploration; items added
/// while serving keep an item posterior when the bundle holds Ψ (``NewItemBelief``), and the
/// questions are ``CovarianceQuestions``' greedy variance reduction.
public struct CovarianceServingMethod: ExactPosteriorMethod, NewItemPosteriorMethod {
    let head: CovarianceHead
    /// Φ, row-major `[rows, k]`, one row per catalogue item (in double: the posterior's precision).
    let phi: [Double]
    /// Ψ from the bundle, when it holds one.
    let newItemPrior: NewItemPrior?
    /// The item posterior of each item added while serving, by row (with Ψ only).
    let itemBeliefs: [Int: NewItemBelief]

    init(head: CovarianceHead, bundle: ModelBundle, catalogue: FeatureTable) throws {
        newItemPrior = bundle.archive.newItemPrior
        if let newItemPrior, newItemPrior.dimension != head.dimension {
            throw ModelArchiveError(
                path: bundle.archive.header.data.source,
                reason:
                    "the new-item prior has dimension \(newItemPrior.dimension), the covariance head \(head.dimension)")
        }
        self.head = head
        let all = EntityBatch(catalogue, entities: (0..<catalogue.count).map(Int32.init))
        phi = GradientMode.withoutRecording {
            head.itemRepresentation(all, head.parameters).denseValues.map { Double($0) }
        }
        itemBeliefs = [:]
    }

    private init(_ base: CovarianceServingMethod, phi: [Double], itemBeliefs: [Int: NewItemBelief]) {
        head = base.head
        newItemPrior = base.newItemPrior
        self.phi = phi
        self.itemBeliefs = itemBeliefs
    }

    public var methodName: String { "covariance" }
    public var objective: Objective { head.configuration.objective }
    public var stateSize: Int { head.dimension * (head.dimension + 1) }
    public var hasPredictiveVariance: Bool { true }

    public func adapt(user: EntityBatch, userTable: FeatureTable, support: [(row: Int, target: Float)]) throws
        -> [Float]
    {
        let k = head.dimension
        let prior = GradientMode.withoutRecording {
            head.priorMean(user, head.parameters).denseValues.map(Double.init)
        }
        let features = support.map { s in Array(phi[(s.row * k)..<(s.row * k + k)]) }
        guard let posterior = head.posterior(prior: prior, phi: features, targets: support.map { $0.target }) else {
            throw RecommenderError(.invalid, "the posterior is degenerate for this feedback")
        }
        return posterior.mean.map(Float.init) + posterior.covariance.map(Float.init)
    }

    /// An item added while serving with an item posterior scores by its corrected mean (φ + d)ᵀm
    /// (the posterior's best estimate; d = 0 before feedback) and explores by both sides'
    /// epistemic variance; other items by the user's, φᵀSφ.
    public func scores(user: EntityBatch, state: [Float]?) throws -> CatalogueScores {
        let k = head.dimension
        let (mean, covariance) = try posterior(user, state: state)
        let weights = UserWeights(mean: mean, covariance: covariance)
        var means = Self.means(phi, k: k, weights: mean)
        let beliefs = itemBeliefs
        for (row, belief) in beliefs { means[row] = Float(belief.predictive(weights).mean) }
        let phi = self.phi
        // Only when exploring or for the returned items: a k × k form per row.
        return CatalogueScores(
            values: means,
            variance: { r in
                beliefs[r]?.predictive(weights).variance
                    ?? max(quadraticForm(covariance, Array(phi[(r * k)..<(r * k + k)])), 0)
            }, noiseVariance: head.noiseVariance)
    }

    /// Φm for every row, summed in double (the order of the uncached sum, so the scores are the same).
    static func means(_ phi: [Double], k: Int, weights: [Double]) -> [Float] {
        let rows = k == 0 ? 0 : phi.count / k
        return [Float](unsafeUninitializedCapacity: rows) { out, initialized in
            phi.withUnsafeBufferPointer { phi in
                weights.withUnsafeBufferPointer { m in
                    for r in 0..<rows {
                        var total = 0.0
                        let base = r * k
                        for j in 0..<k { total += phi[base + j] * m[j] }
                        out[r] = Float(total)
                    }
                }
            }
            initialized = rows
        }
    }

    /// The head's id embedding of an item training never saw is zero.
    public func appending(item: EntityBatch) throws -> CovarianceServingMethod {
        let zeroID = head.parameters.replacing(
            [ParameterName.itemIDEmbedding: Tensor.zeros([1, head.configuration.embeddingSize])])
        let itemRow: [Double] = GradientMode.withoutRecording {
            head.itemRepresentation(item, head.configuration.itemIDEmbedding ? zeroID : head.parameters).denseValues
                .map { Double($0) }
        }
        var beliefs = itemBeliefs
        beliefs[phi.count / head.dimension] = try newItemPrior.map {
            try NewItemBelief(representation: itemRow, prior: $0)
        }
        return CovarianceServingMethod(self, phi: phi + itemRow, itemBeliefs: beliefs)
    }

    // MARK: - Questions

    public func catalogueMoment(skipping hidden: RowSet) -> [Double] {
        CovarianceQuestions.moment(phi, k: head.dimension, skipping: hidden)
    }

    /// The current posterior stands in for the prior, so no answers are replayed.
    public func questions(
        count: Int, pool: [Int32], state: [Float]?, moment: [Double], known: (Int32) -> Double
    ) throws -> [(row: Int32, reduction: Double)] {
        let k = head.dimension
        var covariance = head.priorCovariance
        if let state, !state.isEmpty {
            guard state.count == k + k * k else {
                throw stateSizeError(state.count, expected: k + k * k, of: "the covariance head needs")
            }
            covariance = state[k...].map(Double.init)
        }
        return CovarianceQuestions.choose(
            count: count, pool: pool, phi: phi, k: k, covariance: covariance, moment: moment,
            noiseVariance: head.noiseVariance, known: known)
    }

    // MARK: - Items added while serving

    public var itemPosteriorRows: Set<Int> { Set(itemBeliefs.keys) }

    /// Each rating is one linear observation of the item's correction, the user at their
    /// posterior mean: the values are the target, then that mean (``UserWeights``).
    public func observations(user: EntityBatch, state: [Float]?, support: [(row: Int, target: Float)]) throws
        -> [(row: Int, values: [Float])]
    {
        let mean = try posterior(user, state: state).mean.map(Float.init)
        return support.map { ($0.row, [$0.target] + mean) }
    }

    public func observing(row: Int, values: [Float]) -> CovarianceServingMethod? {
        guard var belief = itemBeliefs[row], values.count == head.dimension + 1, values.allSatisfy(\.isFinite)
        else { return nil }
        belief.observe(
            UserWeights(mean: values.dropFirst().map(Double.init), covariance: []), rating: Double(values[0]))
        var beliefs = itemBeliefs
        beliefs[row] = belief
        return CovarianceServingMethod(self, phi: phi, itemBeliefs: beliefs)
    }

    /// The stored posterior (mean, covariance), or the prior from the user's features.
    private func posterior(_ user: EntityBatch, state: [Float]?) throws -> (mean: [Double], covariance: [Double]) {
        let k = head.dimension
        if let state {
            guard state.count == k + k * k else {
                throw stateSizeError(state.count, expected: k + k * k, of: "the covariance head needs")
            }
            return (state[..<k].map(Double.init), state[k...].map(Double.init))
        }
        let prior = GradientMode.withoutRecording {
            head.priorMean(user, head.parameters).denseValues.map(Double.init)
        }
        return (prior, head.priorCovariance)
    }
}

/// A covariance head's archive (kind `covariance-head`: its parameters, prior covariance, noise
/// variance and optional Ψ) and its serving form.
extension CovarianceHead: ServableMethod {
    public static var archiveKind: ModelArchive.Kind { .covarianceHead }

    public static func restore(from archive: ModelArchive) throws -> CovarianceHead {
        let header = archive.header
        guard let configuration = header.covariance, let prior = archive.priorCovariance else {
            throw archive.missing("covariance configuration or prior")
        }
        var random = SeededGenerator(seed: 0)
        try archive.checkParameters(
            expected: CovarianceHead.initialParameters(
                configuration, users: header.users, items: header.items, using: &random))
        return CovarianceHead(
            configuration: configuration, users: header.users, items: header.items,
            parameters: archive.parameters, priorCovariance: prior, noiseVariance: header.noiseVariance ?? 1)
    }

    public func servingMethod(bundle: ModelBundle, catalogue: FeatureTable) throws -> any ServingMethod {
        try CovarianceServingMethod(head: self, bundle: bundle, catalogue: catalogue)
    }
}

extension ModelArchive.Kind {
    public static let covarianceHead = Self(rawValue: "covariance-head")
}

extension ModelArchive {
    /// - Parameter newItemPrior: Ψ for items added while serving (``CovarianceHead/newItemPrior``);
    ///   its noise variance is the head's.
    public init(_ head: CovarianceHead, data: DataDescription, newItemPrior: NewItemPrior? = nil) {
        self.init(
            header: Header(
                kind: .covarianceHead, data: data, users: head.users, items: head.items,
                covariance: head.configuration, noiseVariance: head.noiseVariance, createdBy: MetaRecVersion.string),
            parameters: head.parameters, innerRates: [:], priorCovariance: head.priorCovariance,
            newItemPrior: newItemPrior)
    }
}
