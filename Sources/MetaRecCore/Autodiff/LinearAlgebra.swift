/// The matrix product op(a) · op(b), where op transposes when asked.
///
/// Transposed variants read the stored matrix in place, so backward rules (which need
/// products with transposes) cost no copies.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    let (m, k, n) = ShapeCheck.matmul(a.shape, b.shape, transposeA: transposeA, transposeB: transposeB).orStop
    let values = product(
        a.denseValues, a.shape[1], b.denseValues, b.shape[1], m: m, k: k, n: n,
        transposeA: transposeA, transposeB: transposeB, initial: nil)
    return record("matmul", [a, b], shape: [m, n], values: values) { g, needed in
        let gradientA: Tensor? =
            needed[0]
            ? (transposeA
                ? matmul(b, g, transposeA: transposeB, transposeB: true)
                : matmul(g, b, transposeB: !transposeB))
            : nil
        let gradientB: Tensor? =
            needed[1]
            ? (transposeB
                ? matmul(g, a, transposeA: true, transposeB: transposeA)
                : matmul(a, g, transposeA: !transposeA))
            : nil
        return [gradientA, gradientB]
    }
}

/// A dense layer, `input · weight + bias`, with `weight` of shape `[inputs, outputs]` and
/// `bias` of shape `[outputs]`. The bias is folded into the product (no separate pass).
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
    let (m, k, n) = ShapeCheck.matmul(input.shape, weight.shape, transposeA: false, transposeB: false).orStop
    precondition(bias.count == n, "linear: bias of shape \(bias.shape) does not match weight of shape \(weight.shape)")
    let values = product(
        input.denseValues, k, weight.denseValues, n, m: m, k: k, n: n,
        transposeA: false, transposeB: false, initial: bias.denseValues)
    return record("linear", [input, weight, bias], shape: [m, n], values: values) { g, needed in
        [
            needed[0] ? matmul(g, weight, transposeB: true) : nil,
            needed[1] ? matmul(input, g, transposeA: true) : nil,
            needed[2] ? g.summed(toShape: bias.shape) : nil,
        ]
    }
}

/// op(A)·op(B) (+ each row of `initial`, when given) into a new array.
@inline(__always)
func product(
    _ a: [Float], _ lda: Int, _ b: [Float], _ ldb: Int, m: Int, k: Int, n: Int,
    transposeA: Bool, transposeB: Bool, initial row: [Float]?
) -> [Float] {
    [Float](unsafeUninitializedCapacity: m * n) { c, initialized in
        if let row {
            for i in 0..<m {
                for j in 0..<n { c[i * n + j] = row[j] }
            }
        }
        if m > 0 && n > 0 {
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    Kernels.gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                        a: pa.baseAddress ?? UnsafePointer(bitPattern: 8)!, lda: Swift.max(lda, 1),
                        b: pb.baseAddress ?? UnsafePointer(bitPattern: 8)!, ldb: Swift.max(ldb, 1),
                        beta: row == nil ? 0 : 1, c: c.baseAddress!, ldc: n)
                }
            }
        }
        initialized = m * n
    }
}
