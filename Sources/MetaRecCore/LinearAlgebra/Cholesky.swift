import RealModule

/// The Cholesky factor L (lower triangular, A = L·Lᵀ) of a small symmetric positive-definite
/// matrix, in Double, for exact Gaussian posteriors (Bayesian linear regression) of a few dozen
/// dimensions, where a closed form beats any gradient step.
///
/// ```swift
/// let factor = try Cholesky([4, 2, 2, 3], size: 2)
/// let x = factor.solve([2, 1])          // A⁻¹ b
/// ```
public struct Cholesky: Sendable {
    public let size: Int
    /// Row-major lower-triangular factor.
    public let lower: [Double]

    public struct NotPositiveDefinite: Error, CustomStringConvertible {
        public let pivot: Int
        public var description: String { "Cholesky: matrix is not positive definite (pivot \(pivot))" }
    }

    /// Factors a row-major `size × size` symmetric matrix (only its lower triangle is read).
    public init(_ matrix: [Double], size: Int) throws {
        precondition(matrix.count == size * size, "Cholesky: \(matrix.count) values for a \(size)×\(size) matrix")
        var l = [Double](repeating: 0, count: size * size)
        for j in 0..<size {
            var diagonal = matrix[j * size + j]
            for k in 0..<j { diagonal -= l[j * size + k] * l[j * size + k] }
            guard diagonal > 0, diagonal.isFinite else { throw NotPositiveDefinite(pivot: j) }
            let root = diagonal.squareRoot()
            l[j * size + j] = root
            for i in (j + 1)..<max(j + 1, size) {
                var value = matrix[i * size + j]
                for k in 0..<j { value -= l[i * size + k] * l[j * size + k] }
                l[i * size + j] = value / root
            }
        }
        self.size = size
        self.lower = l
    }

    /// A⁻¹ b.
    public func solve(_ b: [Double]) -> [Double] {
        precondition(b.count == size, "Cholesky.solve: right-hand side of \(b.count) for size \(size)")
        var y = b
        for i in 0..<size {  // L y = b
            for k in 0..<i { y[i] -= lower[i * size + k] * y[k] }
            y[i] /= lower[i * size + i]
        }
        for i in stride(from: size - 1, through: 0, by: -1) {  // Lᵀ x = y
            for k in (i + 1)..<max(i + 1, size) { y[i] -= lower[k * size + i] * y[k] }
            y[i] /= lower[i * size + i]
        }
        return y
    }

    /// A⁻¹, row-major.
    public func inverse() -> [Double] {
        var result = [Double](repeating: 0, count: size * size)
        for column in 0..<size {
            var unit = [Double](repeating: 0, count: size)
            unit[column] = 1
            let x = solve(unit)
            for row in 0..<size { result[row * size + column] = x[row] }
        }
        return result
    }

    /// log det A = 2 Σ log Lᵢᵢ.
    public var logDeterminant: Double {
        (0..<size).reduce(0) { $0 + 2 * Double.log(lower[$1 * size + $1]) }
    }
}
