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
        // Unsafe buffers (no array bounds checks in the n³/3 inner loop): the same arithmetic, for
        // the thousand-item Gram matrices of EASE (Docs/ranking.md) as for a few dozen dimensions.
        let failedPivot: Int? = matrix.withUnsafeBufferPointer { a -> Int? in
            l.withUnsafeMutableBufferPointer { l -> Int? in
                for j in 0..<size {
                    let rowJ = j * size
                    var diagonal = a[rowJ + j]
                    for k in 0..<j { diagonal -= l[rowJ + k] * l[rowJ + k] }
                    guard diagonal > 0, diagonal.isFinite else { return j }
                    let root = diagonal.squareRoot()
                    l[rowJ + j] = root
                    for i in (j + 1)..<max(j + 1, size) {
                        let rowI = i * size
                        var value = a[rowI + j]
                        for k in 0..<j { value -= l[rowI + k] * l[rowJ + k] }
                        l[rowI + j] = value / root
                    }
                }
                return nil
            }
        }
        if let failedPivot { throw NotPositiveDefinite(pivot: failedPivot) }
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

    /// A⁻¹ in Float, row-major, as (L⁻¹)ᵀ·L⁻¹: the triangular inverse in Double (n³/6 multiply-adds
    /// along contiguous rows), then one matrix product on the current kernel backend (OpenBLAS
    /// where loaded). For matrices of a thousand rows and more, where ``inverse()``'s n solves are slow.
    public func inverseByProduct() -> [Float] {
        let n = size
        guard n > 0 else { return [] }
        var m = [Double](repeating: 0, count: n * n)
        lower.withUnsafeBufferPointer { l in
            m.withUnsafeMutableBufferPointer { m in
                // Row i of M = L⁻¹: (eᵢ − Σ_{k<i} L_ik · row k of M) / L_ii; row k is zero past k.
                for i in 0..<n {
                    let rowI = i * n
                    for k in 0..<i {
                        let factor = l[rowI + k]
                        if factor == 0 { continue }
                        let rowK = k * n
                        for j in 0...k { m[rowI + j] -= factor * m[rowK + j] }
                    }
                    m[rowI + i] += 1
                    let inverse = 1 / l[rowI + i]
                    for j in 0...i { m[rowI + j] *= inverse }
                }
            }
        }
        let single = m.map { Float($0) }
        var result = [Float](repeating: 0, count: n * n)
        single.withUnsafeBufferPointer { a in
            result.withUnsafeMutableBufferPointer { c in
                Kernels.gemm(
                    transposeA: true, transposeB: false, m: n, n: n, k: n, alpha: 1, a: a.baseAddress!, lda: n,
                    b: a.baseAddress!, ldb: n, beta: 0, c: c.baseAddress!, ldc: n)
            }
        }
        return result
    }

    /// log det A = 2 Σ log Lᵢᵢ.
    public var logDeterminant: Double {
        (0..<size).reduce(0) { $0 + 2 * Double.log(lower[$1 * size + $1]) }
    }
}
