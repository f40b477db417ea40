import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct CovarianceHeadTests {
    let world = SmallWorld.shared

    func head(prior: [Double], noise: Double) -> CovarianceHead {
        var configuration = CovarianceHead.Configuration()
        configuration.representationSize = 1  // k = 2: one feature and the bias
        return CovarianceHead(
            configuration: configuration, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures), priorCovariance: prior, noiseVariance: noise)
    }

    /// Bayesian linear regression in two dimensions, worked out in closed form:
    /// Λ = Σ⁻¹ + ΦᵀΦ/σ², m = Λ⁻¹(Σ⁻¹μ + Φᵀr/σ²), with Σ = diag(2, 0.5), σ² = 0.25.
    @Test func posteriorMatchesTheClosedForm() throws {
        let model = head(prior: [2, 0, 0, 0.5], noise: 0.25)
        let phi: [[Double]] = [[1, 1], [-0.5, 1], [2, 1]]
        let targets: [Float] = [4, 3, 5]
        let mu = [0.3, 3.5]
        let posterior = try #require(model.posterior(prior: mu, phi: phi, targets: targets))

        // Λ by hand: Σ⁻¹ = diag(0.5, 2); ΦᵀΦ = [[5.25, 2.5], [2.5, 3]]; divided by 0.25: ×4.
        let lambda: [Double] = [21.5, 10, 10, 14]
        let determinant: Double = 21.5 * 14 - 100
        let inverse: [Double] = [14 / determinant, -10 / determinant, -10 / determinant, 21.5 / determinant]
        // Σ⁻¹μ + Φᵀr/σ² = [0.5·0.3 + 4·(4 − 1.5 + 10), 2·3.5 + 4·12]
        let rhs: [Double] = [50.15, 55]
        let mean: [Double] = [inverse[0] * rhs[0] + inverse[1] * rhs[1], inverse[2] * rhs[0] + inverse[3] * rhs[1]]
        _ = lambda
        for i in 0..<2 {
            #expect(abs(posterior.mean[i] - mean[i]) < 1e-9, "mean[\(i)] \(posterior.mean[i]) vs \(mean[i])")
        }
        for i in 0..<4 { #expect(abs(posterior.covariance[i] - inverse[i]) < 1e-12) }

        // No support: the posterior is the prior.
        let empty = try #require(model.posterior(prior: mu, phi: [], targets: []))
        #expect(abs(empty.mean[0] - 0.3) < 1e-12 && abs(empty.mean[1] - 3.5) < 1e-12)
        #expect(abs(empty.covariance[0] - 2) < 1e-12 && abs(empty.covariance[3] - 0.5) < 1e-12)
    }

    /// With a vague prior and many noiseless observations the posterior mean is least squares.
    @Test func manyObservationsGiveLeastSquares() throws {
        let model = head(prior: [1e6, 0, 0, 1e6], noise: 1e-4)
        let phi: [[Double]] = (0..<50).map { [Double($0) / 10 - 2, 1] }
        let targets = phi.map { Float(1.5 * $0[0] + 3) }
        let posterior = try #require(model.posterior(prior: [0, 0], phi: phi, targets: targets))
        #expect(abs(posterior.mean[0] - 1.5) < 1e-3 && abs(posterior.mean[1] - 3) < 1e-3)
    }

    @Test func learnsSyntheticTastesBetterThanTheBaselinesAndReportsUncertainty() throws {
        var configuration = CovarianceHead.Configuration()
        configuration.embeddingSize = 8
        configuration.representationSize = 8
        configuration.maxEpochs = 6
        configuration.initialBias = world.globalMean
        let head = CovarianceHead(
            configuration: configuration, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures))
        try head.fit(training: world.warm, validation: world.validation, features: world.features)
        let mae = world.userColdMAE(head)
        #expect(mae < world.bestBaselineMAE - 0.03, "covariance head \(mae), best baseline \(world.bestBaselineMAE)")

        // More support shrinks the predictive variance.
        let task = world.userCold.first { $0.supportCount >= 20 }!
        let none = head.predictWithUncertainty(
            PreparedTask(
                user: task.user, support: [],
                query: zip(task.queryItemIDs, task.queryTargets.values).map {
                    Interaction(user: task.user, item: $0, value: $1, timestamp: 0)
                }, features: world.features))
        let full = head.predictWithUncertainty(task)
        #expect(zip(full.variances, none.variances).allSatisfy { $0 < $1 })
        #expect(full.variances.allSatisfy { Double($0) >= head.noiseVariance * 0.999 })
    }
}
