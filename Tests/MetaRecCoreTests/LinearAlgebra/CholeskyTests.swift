import Testing

@testable import MetaRecCore

@Suite struct CholeskyTests {
    @Test func factorSolveAndInverseAgainstClosedForms() throws {
        // A = [[4, 2], [2, 3]]: L = [[2, 0], [1, √2]], det = 8, A⁻¹ = [[3, -2], [-2, 4]] / 8.
        let factor = try Cholesky([4, 2, 2, 3], size: 2)
        let expectedLower = [2, 0, 1, 2.0.squareRoot()]
        for (a, b) in zip(factor.lower, expectedLower) { #expect(abs(a - b) < 1e-12) }
        for (a, b) in zip(factor.inverse(), [3.0 / 8, -2.0 / 8, -2.0 / 8, 4.0 / 8]) { #expect(abs(a - b) < 1e-12) }
        let x = factor.solve([2, 1])  // A⁻¹ [2, 1] = [4/8, 0]
        #expect(abs(x[0] - 0.5) < 1e-12 && abs(x[1]) < 1e-12)
        #expect(abs(factor.logDeterminant - Double.log(8)) < 1e-12)
    }

    @Test func randomSystemsSolveToTheirRightHandSide() throws {
        var random = SeededGenerator(seed: 5)
        let n = 12
        let b = (0..<n * n).map { _ in Double(random.normal()) }
        var a = [Double](repeating: 0, count: n * n)  // BᵀB + I is positive definite
        for i in 0..<n {
            for j in 0..<n { for k in 0..<n { a[i * n + j] += b[k * n + i] * b[k * n + j] } }
            a[i * n + i] += 1
        }
        let rhs = (0..<n).map { Double($0) - 3 }
        let x = try Cholesky(a, size: n).solve(rhs)
        for i in 0..<n {
            let row = (0..<n).reduce(0.0) { $0 + a[i * n + $1] * x[$1] }
            #expect(abs(row - rhs[i]) < 1e-9)
        }
    }

    @Test func refusesIndefiniteMatrices() {
        #expect(throws: Cholesky.NotPositiveDefinite.self) { try Cholesky([1, 2, 2, 1], size: 2) }
    }

    /// The inverse by triangular inverse and one matrix product (EASE's path) equals the n solves
    /// of `inverse()`: on A = [[4, 2], [2, 3]] (A⁻¹ = [[3, −2], [−2, 4]] / 8) and a random 40 × 40 system.
    @Test func inverseByProductAgreesWithTheSolves() throws {
        let small = try Cholesky([4, 2, 2, 3], size: 2).inverseByProduct()
        for (a, b) in zip(small, [3.0 / 8, -2.0 / 8, -2.0 / 8, 4.0 / 8]) { #expect(abs(Double(a) - b) < 1e-6) }
        var random = SeededGenerator(seed: 11)
        let n = 40
        let b = (0..<n * n).map { _ in Double(random.normal()) }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n { a[i * n + j] = (0..<n).reduce(0) { $0 + b[i * n + $1] * b[j * n + $1] } }
            a[i * n + i] += 1
        }
        let factor = try Cholesky(a, size: n)
        let expected = factor.inverse()
        let product = factor.inverseByProduct()
        #expect(product.count == n * n)
        for (x, y) in zip(product, expected) { #expect(abs(Double(x) - y) < 1e-4 * max(1, abs(y))) }
        #expect(try Cholesky([], size: 0).inverseByProduct().isEmpty)
    }
}
