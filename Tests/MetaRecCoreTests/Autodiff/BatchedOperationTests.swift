import Testing

@testable import MetaRecCore

/// The batched operations of meta-batches: values against member-by-member products, gradients
/// and Hessian-vector products against finite differences.
@Suite struct BatchedOperationTests {
    var random = SeededGenerator(seed: 5)

    @Test mutating func batchedMatmulEqualsEachMembersProduct() {
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(transposeA ? [3, 4, 2] : [3, 2, 4], &random)
            let b = randomTensor(transposeB ? [3, 5, 4] : [3, 4, 5], &random)
            let batched = GradientMode.withoutRecording {
                batchedMatmul(a, b, transposeA: transposeA, transposeB: transposeB)
            }
            #expect(batched.shape == [3, 2, 5])
            for member in 0..<3 {
                let left = Tensor(
                    shape: [a.shape[1], a.shape[2]], values: Array(a.values[(member * 8)..<(member * 8 + 8)]))
                let right = Tensor(
                    shape: [b.shape[1], b.shape[2]], values: Array(b.values[(member * 20)..<(member * 20 + 20)]))
                let single = GradientMode.withoutRecording {
                    matmul(left, right, transposeA: transposeA, transposeB: transposeB)
                }
                expectClose(
                    Array(batched.values[(member * 10)..<(member * 10 + 10)]), single.values, tolerance: 1e-6,
                    "member \(member) of batchedMatmul(\(transposeA), \(transposeB))")
            }
        }
    }

    @Test mutating func batchedMatmulGradients() {
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(transposeA ? [2, 4, 3] : [2, 3, 4], &random)
            let b = randomTensor(transposeB ? [2, 5, 4] : [2, 4, 5], &random)
            let f: ([Tensor]) -> Tensor = { x in
                weightedSum(tanh(batchedMatmul(x[0], x[1], transposeA: transposeA, transposeB: transposeB)))
            }
            checkGradients([a, b], "batchedMatmul(\(transposeA), \(transposeB))", f)
            checkHessianVectorProducts([a, b], "batchedMatmul(\(transposeA), \(transposeB))", f)
        }
    }

    @Test mutating func repeatingAlongANewAxisSumsItsGradient() {
        let w = randomTensor([3, 2], &random)
        let f: ([Tensor]) -> Tensor = { x in weightedSum(tanh(x[0].repeatedAlongNewAxis(4))) }
        checkGradients([w], "repeatedAlongNewAxis", f)
        checkHessianVectorProducts([w], "repeatedAlongNewAxis", f)
        #expect(GradientMode.withoutRecording { w.repeatedAlongNewAxis(4) }.shape == [4, 3, 2])
    }

    @Test mutating func batchedGemmWithASharedOperandMatchesTheDefinition() {
        let a = randomTensor([3, 5, 6], &random)
        let b = randomTensor([6, 4], &random)
        var expected = [Float](repeating: 0, count: 3 * 5 * 4)
        for member in 0..<3 {
            for i in 0..<5 {
                for j in 0..<4 {
                    var total: Float = 0
                    for k in 0..<6 { total += a.values[member * 30 + i * 6 + k] * b.values[k * 4 + j] }
                    expected[member * 20 + i * 4 + j] = total
                }
            }
        }
        var result = [Float](repeating: .nan, count: expected.count)
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                result.withUnsafeMutableBufferPointer { pc in
                    Kernels.batchedGemm(
                        batch: 3, transposeA: false, transposeB: false, m: 5, n: 4, k: 6, alpha: 1,
                        a: pa.baseAddress!, lda: 6, strideA: 30, b: pb.baseAddress!, ldb: 4, strideB: 0,
                        beta: 0, c: pc.baseAddress!, ldc: 4, strideC: 20)
                }
            }
        }
        expectClose(result, expected, tolerance: 1e-5, "batchedGemm (\(Kernels.backend.rawValue))")
    }
}
