import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite struct NewItemBeliefTests {
    /// The 1-D conjugate normal: prior N(μ₀, τ²), observations y = a·β + ε with ε ~ N(0, σ²):
    /// precision 1/τ² + Σa²/σ², mean (μ₀/τ² + Σa·y/σ²) / precision.
    @Test func oneDimensionalPosteriorIsTheConjugateNormal() throws {
        let (mu0, tau2, sigma2) = (0.5, 4.0, 0.25)
        let rows: [Double] = [1, 2, -0.5, 1.5]
        let targets: [Double] = [1.2, 2.1, -0.1, 2.0]
        var posterior = try GaussianLinearPosterior(priorMean: [mu0], priorCovariance: [tau2], noiseVariance: sigma2)
        for (a, y) in zip(rows, targets) { posterior.observe([a], target: y) }
        let precision = 1 / tau2 + rows.reduce(0) { $0 + $1 * $1 } / sigma2
        let mean = (mu0 / tau2 + zip(rows, targets).reduce(0) { $0 + $1.0 * $1.1 } / sigma2) / precision
        #expect(abs(posterior.mean[0] - mean) < 1e-12)
        #expect(abs(posterior.covariance[0] - 1 / precision) < 1e-12)
        #expect(posterior.observations == 4)
        #expect(abs(posterior.variance(along: [2]) - 4 / precision) < 1e-12)
    }

    /// One observation at a time and all at once give the same posterior.
    @Test func sequentialUpdatesEqualOneBatch() throws {
        let prior = [2.0, 0.3, 0.3, 1.0]
        var one = try GaussianLinearPosterior(priorMean: [0.1, 3], priorCovariance: prior, noiseVariance: 0.5)
        var all = one
        let rows: [[Double]] = [[1, 1], [-1, 1], [0.5, 1], [2, 1]]
        let targets: [Double] = [4, 2.5, 3.3, 5]
        for (row, target) in zip(rows, targets) { one.observe(row, target: target) }
        all.observe(rows: rows, targets: targets)
        for i in 0..<2 { #expect(abs(one.mean[i] - all.mean[i]) < 1e-10) }
        for i in 0..<4 { #expect(abs(one.covariance[i] - all.covariance[i]) < 1e-10) }
    }

    /// As the prior vanishes the mean is least squares.
    @Test func vagueOneGivesLeastSquares() throws {
        var posterior = try GaussianLinearPosterior(
            priorMean: [0, 0], priorCovariance: [1e8, 0, 0, 1e8], noiseVariance: 1)
        let rows: [[Double]] = (0..<20).map { [Double($0) / 4 - 2, 1] }
        // y = 0.7x − 1 plus a known zero-mean wiggle orthogonal to neither column: least squares by hand.
        let targets = rows.enumerated().map { 0.7 * $0.element[0] - 1 + ($0.offset % 2 == 0 ? 0.1 : -0.1) }
        posterior.observe(rows: rows, targets: targets)
        let n = Double(rows.count)
        let sx = rows.reduce(0) { $0 + $1[0] }
        let sxx = rows.reduce(0) { $0 + $1[0] * $1[0] }
        let sy = targets.reduce(0, +)
        let sxy = zip(rows, targets).reduce(0) { $0 + $1.0[0] * $1.1 }
        let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
        let intercept = (sy - slope * sx) / n
        #expect(abs(posterior.mean[0] - slope) < 1e-6)
        #expect(abs(posterior.mean[1] - intercept) < 1e-6)
    }

    @Test func badPriorsAreRefusedWithAReason() {
        #expect(throws: ExplorationError.self) {
            try GaussianLinearPosterior(priorMean: [0, 0], priorCovariance: [1], noiseVariance: 1)
        }
        #expect(throws: ExplorationError.self) {
            try GaussianLinearPosterior(priorMean: [0], priorCovariance: [1], noiseVariance: 0)
        }
        #expect(throws: ExplorationError.self) {
            try NewItemBelief(representation: [1, 1], prior: NewItemPrior(covariance: [1], noiseVariance: 1))
        }
        #expect(throws: ExplorationError.self) {
            try NewItemBelief(representation: [1], prior: NewItemPrior(covariance: [-1], noiseVariance: 1))
        }
    }

    /// The predictive mean and variance of (φ + δ)ᵀw against a Monte Carlo estimate.
    @Test func predictiveMomentsMatchSampling() throws {
        var belief = try NewItemBelief(
            representation: [0.4, 1], prior: NewItemPrior(covariance: [0.5, 0.1, 0.1, 0.2], noiseVariance: 0.3))
        belief.observe(UserWeights(mean: [1, 3.5], covariance: [0.04, 0, 0, 0.01]), rating: 4.2)
        let user = UserWeights(mean: [-0.6, 3.2], covariance: [0.3, 0.05, 0.05, 0.1])
        let (mean, variance) = belief.predictive(user)

        func draw(_ mean: [Double], _ covariance: [Double], _ random: inout SeededGenerator) -> [Double] {
            let factor = try! Cholesky(covariance, size: 2).lower
            let z = [Double(random.normal()), Double(random.normal())]
            return [mean[0] + factor[0] * z[0], mean[1] + factor[2] * z[0] + factor[3] * z[1]]
        }
        var random = SeededGenerator(seed: 7)
        let samples = 200_000
        var sum = 0.0
        var squares = 0.0
        for _ in 0..<samples {
            let delta = draw(belief.correction.mean, belief.correction.covariance, &random)
            let w = draw(user.mean, user.covariance, &random)
            let r = (belief.representation[0] + delta[0]) * w[0] + (belief.representation[1] + delta[1]) * w[1]
            sum += r
            squares += r * r
        }
        let sampledMean = sum / Double(samples)
        let sampledVariance = squares / Double(samples) - sampledMean * sampledMean
        #expect(abs(mean - sampledMean) < 0.02, "mean \(mean) vs sampled \(sampledMean)")
        #expect(abs(variance - sampledVariance) / sampledVariance < 0.03, "variance \(variance) vs \(sampledVariance)")
    }

    /// Ratings from many known users recover a planted correction, and the uncertainty shrinks.
    @Test func ratingsRecoverAPlantedCorrection() throws {
        let phi = [0.3, -0.2, 1]
        let truth = [0.8, -0.5, 0.2]
        var belief = try NewItemBelief(
            representation: phi,
            prior: NewItemPrior(covariance: [1, 0, 0, 0, 1, 0, 0, 0, 1], noiseVariance: 0.01))
        var random = SeededGenerator(seed: 1)
        var users: [UserWeights] = []
        for _ in 0..<200 {
            users.append(
                UserWeights(
                    mean: [Double(random.normal()), Double(random.normal()), 3.5],
                    covariance: [0.01, 0, 0, 0, 0.01, 0, 0, 0, 0.01]))
        }
        let probe = users[0]
        let before = belief.predictive(probe).variance
        for user in users {
            let rating = zip(zip(phi, truth).map { $0 + $1 }, user.mean).reduce(0) { $0 + $1.0 * $1.1 }
            belief.observe(user, rating: rating + 0.1 * Double(random.normal()))
        }
        for i in 0..<3 { #expect(abs(belief.correction.mean[i] - truth[i]) < 0.05, "δ[\(i)]") }
        #expect(belief.predictive(probe).variance < before / 10)
    }

    /// The EM estimate of Ψ on a (small, briefly trained) head: symmetric, positive on the
    /// diagonal, from every warm item a known user rated.
    @Test func newItemPriorIsACovarianceFromWarmItems() throws {
        let world = SmallWorld.shared
        var configuration = CovarianceHead.Configuration()
        configuration.embeddingSize = 4
        configuration.representationSize = 3
        configuration.maxEpochs = 1
        let head = CovarianceHead(
            configuration: configuration, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures), noiseVariance: 1)
        try head.fit(training: world.warm, validation: [], features: world.features)
        let users = head.userWeights(training: world.warm, features: world.features)
        #expect(users.count == Set(world.warm.map(\.user)).count)
        let prior = try head.newItemPrior(training: world.warm, users: users, features: world.features, iterations: 5)
        let k = head.dimension
        #expect(prior.dimension == k)
        #expect(prior.items == Set(world.warm.map(\.item)).count)
        #expect(prior.noiseVariance == head.noiseVariance)
        for i in 0..<k {
            #expect(prior.covariance[i * k + i] > 0)
            for j in 0..<k { #expect(abs(prior.covariance[i * k + j] - prior.covariance[j * k + i]) < 1e-9) }
        }
        #expect(throws: ExplorationError.self) {
            try head.newItemPrior(training: world.warm, users: [:], features: world.features)
        }
    }
}
