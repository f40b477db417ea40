// Stand-in until the kernels branch lands; replaced by Kernels/MatrixMultiply.swift.
public enum Kernels {
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var total: Float = 0
                for p in 0..<k {
                    let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    total += av * bv
                }
                c[i * ldc + j] = alpha * total + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }
}
