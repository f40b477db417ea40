import Foundation
import MetaRecCore

/// The exact posterior of Bayesian linear regression, y = xᵀβ + ε with ε ~ N(0, σ²) and
/// β ~ N(μ, Σ), kept in natural parameters (precision Λ and shift η = Λm) so that one more
/// observation is a rank-one update: Λ += xxᵀ/σ², η += xy/σ² (Bishop, "Pattern Recognition and
/// Machine Learning", §3.3). Small dimensions only (a few dozen): every update refactors Λ.
///
/// ```swift
/// var posterior = try GaussianLinearPosterior(priorMean: [0], priorCovariance: [4], noiseVariance: 1)
/// posterior.observe([1], target: 2)   // mean 1.6, covariance 0.8
/// ```
public struct GaussianLinearPosterior: Sendable, Equatable {
    public let dimension: Int
    public let noiseVariance: Double
    /// Λ = Σ⁻¹ + XᵀX/σ², row-major.
    public private(set) var precision: [Double]
    /// η = Σ⁻¹μ + Xᵀy/σ².
    public private(set) var shift: [Double]
    /// m = Λ⁻¹η.
    public private(set) var mean: [Double]
    /// Λ⁻¹, row-major.
    public private(set) var covariance: [Double]
    /// Observations folded in so far.
    public private(set) var observations = 0

    /// - Throws: `Cholesky.NotPositiveDefinite` when Σ is not positive definite, and
    ///   `ExplorationError` when the noise variance is not positive or the sizes disagree.
    public init(priorMean: [Double], priorCovariance: [Double], noiseVariance: Double) throws {
        let k = priorMean.count
        guard priorCovariance.count == k * k else {
            throw ExplorationError(
                "prior covariance has \(priorCovariance.count) values; expected \(k * k) for dimension \(k)")
        }
        guard noiseVariance.isFinite, noiseVariance > 0 else {
            throw ExplorationError("noise variance must be positive and finite, got \(noiseVariance)")
        }
        let factor = try Cholesky(priorCovariance, size: k)
        dimension = k
        self.noiseVariance = noiseVariance
        precision = factor.inverse()
        shift = factor.solve(priorMean)
        mean = priorMean
        covariance = priorCovariance
    }

    /// Folds in one observation `target` ≈ rowᵀβ.
    public mutating func observe(_ row: [Double], target: Double) {
        observe(rows: [row], targets: [target])
    }

    /// Folds in several observations at the cost of one factorisation.
    public mutating func observe(rows: [[Double]], targets: [Double]) {
        precondition(
            rows.count == targets.count, "GaussianLinearPosterior.observe: \(rows.count) rows, \(targets.count) targets"
        )
        guard !rows.isEmpty else { return }
        let k = dimension
        let scale = 1 / noiseVariance
        for (row, target) in zip(rows, targets) {
            precondition(row.count == k, "GaussianLinearPosterior.observe: row of \(row.count), expected \(k)")
            for i in 0..<k {
                shift[i] += row[i] * target * scale
                for j in 0..<k { precision[i * k + j] += row[i] * row[j] * scale }
            }
        }
        observations += rows.count
        // Λ only grows by positive semi-definite terms, so it stays positive definite; a failure
        // here would be rounding on a degenerate prior, and the last posterior is then kept.
        guard let factor = try? Cholesky(precision, size: k) else { return }
        mean = factor.solve(shift)
        covariance = factor.inverse()
    }

    /// rowᵀ m.
    public func predictedMean(_ row: [Double]) -> Double { innerProduct(row, mean) }

    /// rowᵀ Λ⁻¹ row: the variance of rowᵀβ (without the noise).
    public func variance(along row: [Double]) -> Double { quadraticForm(covariance, row) }
}

func innerProduct(_ a: [Double], _ b: [Double]) -> Double {
    var total = 0.0
    for i in a.indices { total += a[i] * b[i] }
    return total
}

/// xᵀ A x for a row-major square A.
func quadraticForm(_ matrix: [Double], _ x: [Double]) -> Double {
    let k = x.count
    var total = 0.0
    for i in 0..<k {
        var row = 0.0
        for j in 0..<k { row += matrix[i * k + j] * x[j] }
        total += x[i] * row
    }
    return total
}
