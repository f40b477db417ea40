#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which implementation of the matrix kernels runs.
public enum KernelBackend: String, Sendable {
    case openBLAS = "OpenBLAS"
    case portable = "portable Swift"
}

/// The dense matrix kernels of the numeric core. OpenBLAS is used when it can be loaded at run time,
/// so the package builds and runs without it; the portable Swift kernels are the fallback.
public enum Kernels {
    /// The backend in use: OpenBLAS if it could be loaded and `METAREC_KERNELS` is not `portable`.
    /// The environment is read once, at first use, so the backend never changes mid-run.
    public static var backend: KernelBackend { resolvedBackend }

    /// Whether OpenBLAS was found at all, whatever `METAREC_KERNELS` says.
    public static var isOpenBLASAvailable: Bool { OpenBLASLibrary.shared != nil }

    /// Threads OpenBLAS uses, or 1 for the portable backend.
    public static var threadCount: Int {
        guard backend == .openBLAS, let get = OpenBLASLibrary.shared?.getNumThreads else { return 1 }
        return Int(get())
    }

    /// OpenBLAS's build description (version, target, threading), if the library provides it.
    public static var openBLASConfiguration: String? { OpenBLASLibrary.shared?.configuration }

    /// The OpenBLAS core type (kernel family) in use, e.g. "SkylakeX"; nil without OpenBLAS or
    /// when the library cannot say (a reference CBLAS).
    public static var openBLASCoreType: String? { OpenBLASLibrary.shared?.coreName }

    /// Who chose `openBLASCoreType`: the user's `OPENBLAS_CORETYPE`, MetaRec (from the CPU flags,
    /// because OpenBLAS picked an older core on its own), or OpenBLAS; nil without OpenBLAS.
    public static var openBLASCoreTypeSource: OpenBLASCoreTypeSource? { OpenBLASLibrary.shared?.coreSource }

    /// One line for `metarec info` and benchmark headers, e.g. "SkylakeX (chosen by MetaRec from
    /// the CPU flags; OpenBLAS alone picked Prescott)"; nil without OpenBLAS.
    public static var openBLASCoreSummary: String? {
        guard let library = OpenBLASLibrary.shared else { return nil }
        let core = library.coreName ?? "unknown (no openblas_get_corename)"
        switch library.coreSource {
        case .user: return "\(core) (set by the user's OPENBLAS_CORETYPE)"
        case .openBLAS: return "\(core) (OpenBLAS's own detection)"
        case .metaRec:
            let alone = library.detectedCoreName.map { "; OpenBLAS alone picked \($0)" } ?? ""
            return "\(core) (chosen by MetaRec from the CPU flags\(alone))"
        }
    }

    /// Sets the OpenBLAS thread count for the whole process (at least 1); a no-op without OpenBLAS.
    /// MetaRec starts OpenBLAS with one thread (see `METAREC_BLAS_THREADS`); change it only while
    /// no other thread is multiplying, as benchmarks do.
    public static func setOpenBLASThreads(_ n: Int) {
        guard let set = OpenBLASLibrary.shared?.setNumThreads else { return }
        set(Int32(clamping: max(1, n)))
    }

    private static let resolvedBackend: KernelBackend = {
        let value = getenv("METAREC_KERNELS").map { String(cString: $0) }
        return resolveBackend(environmentValue: value, openBLASAvailable: isOpenBLASAvailable)
    }()

    /// The backend for a given `METAREC_KERNELS` value; pure so the override can be tested without
    /// touching the process environment. Only `portable` (any case, surrounding spaces ignored)
    /// changes the choice.
    static func resolveBackend(environmentValue: String?, openBLASAvailable: Bool) -> KernelBackend {
        guard openBLASAvailable else { return .portable }
        let value = environmentValue?.trimmingSpaces().lowercased()
        return value == "portable" ? .portable : .openBLAS
    }

    /// Row-major `C[m×n] = alpha · op(A) · op(B) + beta · C`, where op(A) is m×k (A stored k×m if
    /// `transposeA`) and op(B) is k×n (B stored n×k if `transposeB`). `lda`, `ldb`, `ldc` are the row
    /// strides as stored. As in BLAS, `beta == 0` overwrites C (even NaN) and `alpha == 0` or
    /// `k == 0` leaves only `beta · C` without reading A or B. Runs on the current backend.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        gemm(
            backend: backend, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
            alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// `gemm` forcing a backend, for tests and benchmarks; `.openBLAS` must be available.
    public static func gemm(
        backend: KernelBackend, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension m=\(m) n=\(n) k=\(k)")
        let library: OpenBLASLibrary?
        if backend == .openBLAS {
            library = OpenBLASLibrary.shared
            precondition(library != nil, "gemm: the OpenBLAS backend was requested but OpenBLAS is not loaded")
        } else {
            library = nil
        }
        if m == 0 || n == 0 { return }
        precondition(ldc >= n, "gemm: ldc \(ldc) < n \(n)")
        // Handled here for both backends so they agree exactly and A, B are never read.
        if k == 0 || alpha == 0 {
            scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
            return
        }
        precondition(lda >= (transposeA ? m : k), "gemm: lda \(lda) too small")
        precondition(ldb >= (transposeB ? k : n), "gemm: ldb \(ldb) too small")

        if let library {
            precondition(
                max(m, n, k, lda, ldb, ldc) <= Int(Int32.max), "gemm: dimensions exceed OpenBLAS's 32-bit integers")
            library.sgemm(
                OpenBLASLibrary.rowMajor,
                transposeA ? OpenBLASLibrary.transpose : OpenBLASLibrary.noTranspose,
                transposeB ? OpenBLASLibrary.transpose : OpenBLASLibrary.noTranspose,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        } else {
            PortableGemm.gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// `C = beta · C`, with `beta == 0` writing zeros rather than multiplying (NaN · 0 is NaN).
    private static func scale(m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if beta == 1 { return }
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 {
                row.update(repeating: 0, count: n)
            } else {
                for j in 0..<n { row[j] *= beta }
            }
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
            let last = lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return self[first...last]
    }
}
