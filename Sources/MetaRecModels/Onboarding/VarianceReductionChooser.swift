import Foundation
import MetaRecCore
import MetaRecData

/// Asks about the item whose answer is expected to shrink the covariance head's predictive
/// variance over the catalogue the most, weighted by the chance the user knows the item.
///
/// Under the head's Bayesian linear model (r = φᵀw + ε, w ~ N(m, S)) an answer about an item
/// with representation x turns S into S − S x xᵀ S / (σ² + xᵀ S x), whatever the answer is, so
/// the mean reduction of the predictive variance over catalogue items c is
/// aᵀ M a / (σ² + xᵀ a) with a = S x and M = mean_c φ_c φ_cᵀ: the expected information of a
/// question in active learning for linear models (MacKay, "Information-based objective
/// functions for active data selection", Neural Computation 1992). An item the user does not
/// know yields no answer, so the reduction is multiplied by the share of warm users who rated
/// it. Because the update does not depend on the answer's value, asking for several items at
/// once picks them greedily with exactly the updates that answers would make.
public struct VarianceReductionChooser: QuestionChooser {
    public let name: String
    public let dimension: Int
    public let priorCovariance: [Double]
    public let noiseVariance: Double
    /// φ(item) with its trailing 1, per item index.
    public let representations: [[Double]]
    /// M = mean over the catalogue of φφᵀ, row-major k × k.
    public let catalogueMoment: [Double]
    /// Nil: every item counts as known (pure variance reduction).
    public let popularity: ItemPopularity?

    /// - Parameters:
    ///   - representations: φ(item) of every item index, each of length `dimension`.
    ///   - catalogue: the items whose predictive variance counts; default every item.
    public init(
        priorCovariance: [Double], noiseVariance: Double, representations: [[Double]],
        catalogue: [Int32]? = nil, popularity: ItemPopularity?
    ) {
        let k = representations.first?.count ?? Int(Double(priorCovariance.count).squareRoot())
        precondition(priorCovariance.count == k * k, "prior covariance must be \(k) × \(k)")
        dimension = k
        self.priorCovariance = priorCovariance
        self.noiseVariance = noiseVariance
        self.representations = representations
        self.popularity = popularity
        name = popularity == nil ? "posterior variance reduction" : "variance reduction × popularity"
        let items = catalogue.map { $0.map(Int.init) } ?? Array(representations.indices)
        var moment = [Double](repeating: 0, count: k * k)
        for item in items where representations.indices.contains(item) {
            let phi = representations[item]
            for i in 0..<k { for j in 0..<k { moment[i * k + j] += phi[i] * phi[j] } }
        }
        catalogueMoment = moment.map { $0 / Double(max(items.count, 1)) }
    }

    /// The chooser for a trained head: item representations are computed once, here.
    public init(head: CovarianceHead, features: FeatureContext, catalogue: [Int32]? = nil, popularity: ItemPopularity?)
    {
        let representations = head.itemRepresentations(features)
        self.init(
            priorCovariance: head.priorCovariance, noiseVariance: head.noiseVariance,
            representations: representations, catalogue: catalogue, popularity: popularity)
    }

    /// S: the posterior covariance after the answers so far (Σ when there are none).
    public func posteriorCovariance(after answers: [Interaction]) -> [Double] {
        let k = dimension
        guard !answers.isEmpty, let prior = try? Cholesky(priorCovariance, size: k) else { return priorCovariance }
        var precision = prior.inverse()
        for answer in answers where representations.indices.contains(Int(answer.item)) {
            let phi = representations[Int(answer.item)]
            for i in 0..<k { for j in 0..<k { precision[i * k + j] += phi[i] * phi[j] / noiseVariance } }
        }
        return (try? Cholesky(precision, size: k))?.inverse() ?? priorCovariance
    }

    /// The mean reduction of predictive variance over the catalogue if `item` were answered,
    /// given the current covariance `covariance`, and a = S x for the update.
    func reduction(of item: Int32, covariance: [Double]) -> (value: Double, direction: [Double], denominator: Double) {
        let k = dimension
        guard representations.indices.contains(Int(item)) else { return (0, [], 1) }
        let x = representations[Int(item)]
        var a = [Double](repeating: 0, count: k)
        for i in 0..<k { for j in 0..<k { a[i] += covariance[i * k + j] * x[j] } }
        let denominator = noiseVariance + zip(x, a).reduce(0) { $0 + $1.0 * $1.1 }
        var numerator = 0.0
        for i in 0..<k { for j in 0..<k { numerator += a[i] * catalogueMoment[i * k + j] * a[j] } }
        return (numerator / denominator, a, denominator)
    }

    /// The expected reduction for each item of `pool` as the next question (0 for answered ones).
    public func expectedReductions(for user: NewUserAnswers, pool: [Int32]) -> [Double] {
        let covariance = posteriorCovariance(after: user.answers)
        let answered = Set(user.answers.map(\.item))
        return pool.map { item in
            answered.contains(item)
                ? 0 : reduction(of: item, covariance: covariance).value * (popularity?.knownProbability(item) ?? 1)
        }
    }

    public func choose(count: Int, for user: NewUserAnswers, pool: [Int32]) -> [Int32] {
        let k = dimension
        var covariance = posteriorCovariance(after: user.answers)
        var remaining = candidates(pool, excluding: user)
        var chosen: [Int32] = []
        while chosen.count < count, !remaining.isEmpty {
            var best: (index: Int, score: Double, direction: [Double], denominator: Double)?
            for (index, item) in remaining.enumerated() {
                let (value, direction, denominator) = reduction(of: item, covariance: covariance)
                let score = value * (popularity?.knownProbability(item) ?? 1)
                if best == nil || score > best!.score { best = (index, score, direction, denominator) }
            }
            let pick = best!
            chosen.append(remaining.remove(at: pick.index))
            if pick.direction.count == k {
                for i in 0..<k {
                    for j in 0..<k { covariance[i * k + j] -= pick.direction[i] * pick.direction[j] / pick.denominator }
                }
            }
        }
        return chosen
    }
}

extension CovarianceHead {
    /// φ(item) with its trailing 1 for every item of the feature table, in index order.
    public func itemRepresentations(_ features: FeatureContext, batchSize: Int = 1024) -> [[Double]] {
        GradientMode.withoutRecording {
            var result: [[Double]] = []
            result.reserveCapacity(features.items.count)
            var start = 0
            while start < features.items.count {
                let ids = (start..<min(features.items.count, start + batchSize)).map(Int32.init)
                let tensor = itemRepresentation(EntityBatch(features.items, entities: ids), parameters)
                let width = tensor.shape[1]
                let values = tensor.denseValues
                for row in 0..<ids.count { result.append((0..<width).map { Double(values[row * width + $0]) }) }
                start += batchSize
            }
            return result
        }
    }

    /// Each item's mean size of the squared-error gradient with respect to a user's personal
    /// weights at their prior mean, ‖2(φᵀμ_u − r) φ‖, over its training ratings: the "gradient"
    /// half of MeLU's evidence score for this model.
    public func itemGradientSizes(training: [Interaction], features: FeatureContext) -> [Int32: Double] {
        let representations = itemRepresentations(features)
        let users = Array(Set(training.map(\.user))).sorted()
        let means = GradientMode.withoutRecording {
            priorMean(EntityBatch(features.users, entities: users), parameters).denseValues
        }
        let k = dimension
        var row: [Int32: Int] = [:]
        for (index, user) in users.enumerated() { row[user] = index }
        var sums: [Int32: (Double, Int)] = [:]
        for rating in training {
            guard let index = row[rating.user], representations.indices.contains(Int(rating.item)) else { continue }
            let phi = representations[Int(rating.item)]
            var prediction = 0.0
            for j in 0..<k { prediction += phi[j] * Double(means[index * k + j]) }
            let norm = phi.reduce(0) { $0 + $1 * $1 }.squareRoot()
            sums[rating.item, default: (0, 0)].0 += 2 * abs(prediction - Double(rating.value)) * norm
            sums[rating.item, default: (0, 0)].1 += 1
        }
        return sums.mapValues { $0.0 / Double($0.1) }
    }
}
