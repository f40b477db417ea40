/// Products of the matching matrices of two stacks, `[batch, m, k] · [batch, k, n]` to
/// `[batch, m, n]` (with either operand's matrices transposed as stored): the layers of a
/// meta-batch whose tasks each have their own fast weights. Its backward rule is made of
/// batched products again, so it differentiates to any order.
public func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(
        a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0],
        "batchedMatmul: expected two stacks of matrices of the same length, got \(a.shape) and \(b.shape)")
    let batch = a.shape[0]
    let (m, k) = transposeA ? (a.shape[2], a.shape[1]) : (a.shape[1], a.shape[2])
    let (inner, n) = transposeB ? (b.shape[2], b.shape[1]) : (b.shape[1], b.shape[2])
    precondition(
        k == inner, "batchedMatmul: inner dimensions \(k) and \(inner) differ (shapes \(a.shape), \(b.shape))")
    let (left, right) = (a.denseValues, b.denseValues)
    let values = [Float](unsafeUninitializedCapacity: batch * m * n) { c, initialized in
        if batch * m * n > 0 {
            left.withUnsafeBufferPointer { pa in
                right.withUnsafeBufferPointer { pb in
                    Kernels.batchedGemm(
                        batch: batch, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                        a: pa.baseAddress ?? UnsafePointer(bitPattern: 8)!, lda: Swift.max(a.shape[2], 1),
                        strideA: a.shape[1] * a.shape[2],
                        b: pb.baseAddress ?? UnsafePointer(bitPattern: 8)!, ldb: Swift.max(b.shape[2], 1),
                        strideB: b.shape[1] * b.shape[2], beta: 0, c: c.baseAddress!, ldc: n, strideC: m * n)
                }
            }
        }
        initialized = batch * m * n
    }
    return record("batchedMatmul", [a, b], shape: [batch, m, n], values: values) { g, needed in
        let gradientA: Tensor? =
            needed[0]
            ? (transposeA
                ? batchedMatmul(b, g, transposeA: transposeB, transposeB: true)
                : batchedMatmul(g, b, transposeB: !transposeB))
            : nil
        let gradientB: Tensor? =
            needed[1]
            ? (transposeB
                ? batchedMatmul(g, a, transposeA: true, transposeB: transposeA)
                : batchedMatmul(a, g, transposeA: !transposeA))
            : nil
        return [gradientA, gradientB]
    }
}

extension Tensor {
    /// The tensor repeated `count` times along a new leading axis: `shape` to `[count] + shape`;
    /// its adjoint sums over that axis. The shared initialisation of every task in a meta-batch.
    public func repeatedAlongNewAxis(_ count: Int) -> Tensor {
        let shape = self.shape
        return reshaped([1, self.count]).expanded(to: [count, self.count]).reshaped([count] + shape)
    }
}
