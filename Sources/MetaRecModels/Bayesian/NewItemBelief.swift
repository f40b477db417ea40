import Foundation
import MetaRecCore
import MetaRecData

/// A known user's weights under the covariance head: their exact posterior N(mean, covariance)
/// given their training ratings.
public struct UserWeights: Sendable, Equatable {
    public var mean: [Double]
    /// Row-major k × k.
    public var covariance: [Double]

    public init(mean: [Double], covariance: [Double]) {
        self.mean = mean
        self.covariance = covariance
    }
}

/// The prior of a new item's correction δ in r = (φ(item) + δ)ᵀw_user + ε: δ ~ N(0, Ψ), with Ψ
/// estimated by EM on warm items whose φ leaves out their ID embedding (what a new item has),
/// so Ψ measures how far content alone misses an item (empirical Bayes, as the head's user prior).
public struct NewItemPrior: Sendable, Codable, Equatable {
    /// Ψ, row-major k × k.
    public var covariance: [Double]
    /// σ², the rating noise (the head's).
    public var noiseVariance: Double
    /// Warm items the estimate used.
    public var items: Int

    public init(covariance: [Double], noiseVariance: Double, items: Int = 0) {
        self.covariance = covariance
        self.noiseVariance = noiseVariance
        self.items = items
    }

    public var dimension: Int { Int(Double(covariance.count).squareRoot().rounded()) }
}

/// What the model believes about one new item: its content representation φ and the exact
/// posterior of its correction δ given the ratings it got from known users, treating each
/// user's weights as their posterior mean m_u (so each rating is one linear observation
/// r − φᵀm_u = δᵀm_u + ε). Cheap: one k × k update per rating.
public struct NewItemBelief: Sendable, Equatable {
    public let representation: [Double]
    public private(set) var correction: GaussianLinearPosterior

    /// - Throws: `ExplorationError` when φ and the prior disagree in size or the prior is not
    ///   positive definite.
    public init(representation: [Double], prior: NewItemPrior) throws {
        guard representation.count * representation.count == prior.covariance.count else {
            throw ExplorationError(
                "item representation of \(representation.count) values for a prior of dimension \(prior.dimension)")
        }
        self.representation = representation
        do {
            correction = try GaussianLinearPosterior(
                priorMean: [Double](repeating: 0, count: representation.count), priorCovariance: prior.covariance,
                noiseVariance: prior.noiseVariance)
        } catch let error as ExplorationError {
            throw error
        } catch {
            throw ExplorationError("the new-item prior covariance is not positive definite (\(error))")
        }
    }

    /// The item's effective representation φ + E[δ].
    public var effectiveRepresentation: [Double] { zip(representation, correction.mean).map { $0 + $1 } }

    /// Folds in `rating` from `user`.
    public mutating func observe(_ user: UserWeights, rating: Double) {
        observe([(user, rating)])
    }

    /// Folds in several ratings at the cost of one factorisation.
    public mutating func observe(_ ratings: [(user: UserWeights, rating: Double)]) {
        correction.observe(
            rows: ratings.map(\.user.mean),
            targets: ratings.map { $0.rating - innerProduct(representation, $0.user.mean) })
    }

    /// The mean and variance of the expected rating E[r] = (φ + δ)ᵀw with δ ~ N(d, P) and
    /// w ~ N(m, S) independent: mean (φ + d)ᵀm, variance (φ + d)ᵀS(φ + d) + mᵀPm + tr(PS).
    /// The variance is epistemic (what more feedback can remove); add σ² for a new rating's.
    public func predictive(_ user: UserWeights) -> (mean: Double, variance: Double) {
        let v = effectiveRepresentation
        let k = v.count
        var trace = 0.0
        for i in 0..<k { for j in 0..<k { trace += correction.covariance[i * k + j] * user.covariance[j * k + i] } }
        let variance =
            quadraticForm(user.covariance, v) + quadraticForm(correction.covariance, user.mean) + trace
        return (innerProduct(v, user.mean), max(variance, 0))
    }
}

extension CovarianceHead {
    /// Each user's exact posterior given their ratings in `training` (users without a
    /// posterior, which only a degenerate prior gives, are left out).
    public func userWeights(training: [Interaction], features: FeatureContext) -> [Int32: UserWeights] {
        var byUser: [Int32: [Interaction]] = [:]
        for rating in training { byUser[rating.user, default: []].append(rating) }
        let users = byUser.keys.sorted()
        let weights = Parallel.map(users, workers: max(1, configuration.threads)) { user -> UserWeights? in
            let ratings = byUser[user]!
            return GradientMode.withoutRecording {
                self.posterior(
                    user: user, support: ratings.map(\.item), targets: ratings.map(\.value), features: features)
            }.map { UserWeights(mean: $0.mean, covariance: $0.covariance) }
        }
        var result: [Int32: UserWeights] = [:]
        for (user, weight) in zip(users, weights) { if let weight { result[user] = weight } }
        return result
    }

    /// φ(item) from the item's features alone (its ID embedding left out, as for an item
    /// training never saw), with the trailing 1.
    public func contentRepresentations(_ items: [Int32], features: FeatureContext) -> [Int32: [Double]] {
        guard !items.isEmpty else { return [:] }
        let contentOnly = parameters.copied()
        if let table = contentOnly[ParameterName.itemIDEmbedding] {
            for index in table.values.indices { table.values[index] = 0 }
        }
        let tensor = GradientMode.withoutRecording {
            itemRepresentation(EntityBatch(features.items, entities: items), contentOnly)
        }
        let width = tensor.shape[1]
        let values = tensor.denseValues
        var result: [Int32: [Double]] = [:]
        for (row, item) in items.enumerated() {
            result[item] = (0..<width).map { Double(values[row * width + $0]) }
        }
        return result
    }

    /// Ψ by EM on the warm items of `training`: each item's exact posterior of δ under the
    /// current Ψ (ratings from users in `users` only), then Ψ = mean over items of ddᵀ + P.
    /// - Throws: `ExplorationError` when no warm item has a rating from a user in `users`.
    public func newItemPrior(
        training: [Interaction], users: [Int32: UserWeights], features: FeatureContext, iterations: Int = 20
    ) throws -> NewItemPrior {
        var byItem: [Int32: [Interaction]] = [:]
        for rating in training where users[rating.user] != nil { byItem[rating.item, default: []].append(rating) }
        let items = byItem.keys.sorted()
        guard !items.isEmpty else {
            throw ExplorationError(
                "no warm item has a rating from a known user; the new-item prior cannot be estimated")
        }
        let representations = contentRepresentations(items, features: features)
        let k = dimension
        var prior = NewItemPrior(
            covariance: (0..<(k * k)).map { $0 % (k + 1) == 0 ? 0.1 : 0 }, noiseVariance: noiseVariance,
            items: items.count)
        let workers = max(1, configuration.threads)
        for _ in 0..<max(iterations, 0) {
            let current = prior
            let partials = Parallel.map(Array(0..<workers), workers: workers) { worker -> [Double] in
                var scatter = [Double](repeating: 0, count: k * k)
                for index in stride(from: worker, to: items.count, by: workers) {
                    let item = items[index]
                    guard var belief = try? NewItemBelief(representation: representations[item]!, prior: current)
                    else { continue }
                    belief.observe(byItem[item]!.map { (users[$0.user]!, Double($0.value)) })
                    let d = belief.correction.mean
                    for i in 0..<k {
                        for j in 0..<k { scatter[i * k + j] += d[i] * d[j] + belief.correction.covariance[i * k + j] }
                    }
                }
                return scatter
            }
            var scatter = [Double](repeating: 0, count: k * k)
            for part in partials { for i in scatter.indices { scatter[i] += part[i] } }
            prior.covariance = scatter.enumerated().map {
                $0.element / Double(items.count) + ($0.offset % (k + 1) == 0 ? 1e-6 : 0)
            }
        }
        return prior
    }
}
