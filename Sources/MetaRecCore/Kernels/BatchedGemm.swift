extension Kernels {
    /// A batch of independent row-major products, `C[i] = alpha · op(A[i]) · op(B[i]) + beta · C[i]`
    /// for `i` in `0..<batch`, each matrix `stride` floats after the previous one (a stride of 0
    /// repeats one matrix for every member). The tasks of a meta-batch have weights of their own
    /// after an inner step, so their layers are such a batch (a strided grouped GEMM). Runs on the
    /// current backend, one `gemm` per member: the members are small, so OpenBLAS's own threads
    /// would cost more than they give, and the caller spreads batches over cores instead.
    public static func batchedGemm(
        batch: Int, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, strideA: Int, b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int
    ) {
        precondition(batch >= 0 && strideA >= 0 && strideB >= 0, "batchedGemm: negative batch or stride")
        precondition(batch <= 1 || strideC >= m * ldc, "batchedGemm: results overlap (strideC \(strideC))")
        for member in 0..<batch {
            gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a + member * strideA, lda: lda, b: b + member * strideB, ldb: ldb,
                beta: beta, c: c + member * strideC, ldc: ldc)
        }
    }
}
