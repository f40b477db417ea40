#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// OpenBLAS entry points found with `dlopen` at first use, so that neither building nor running
/// MetaRec needs OpenBLAS: without it `shared` is nil and the portable kernels are used.
///
/// `@unchecked Sendable`: every property is immutable after `init`, and the C functions it points
/// to are safe to call from any thread.
final class OpenBLASLibrary: @unchecked Sendable {
    /// `cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)` with the
    /// LP64 `blasint` (Int32) of Debian's `libopenblas0`.
    typealias SgemmFunction =
        @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32, Float,
            UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
            UnsafeMutablePointer<Float>?, Int32
        ) -> Void
    typealias GetThreadsFunction = @convention(c) () -> Int32
    typealias SetThreadsFunction = @convention(c) (Int32) -> Void
    typealias GetConfigFunction = @convention(c) () -> UnsafePointer<CChar>?

    static let rowMajor: Int32 = 101
    static let noTranspose: Int32 = 111
    static let transpose: Int32 = 112

    /// Tried in order; the plain `libcblas` names cover a reference CBLAS without the
    /// `openblas_*` extras (then the thread and configuration queries are unavailable).
    static let candidateNames: [String] = {
        #if canImport(Darwin)
            return ["libopenblas.0.dylib", "libopenblas.dylib", "libcblas.dylib"]
        #else
            return ["libopenblas.so.0", "libopenblas.so", "libcblas.so.3", "libcblas.so"]
        #endif
    }()

    /// Loaded once, thread-safely (a `static let` is initialised under `swift_once`).
    static let shared: OpenBLASLibrary? = load()

    let libraryName: String
    let sgemm: SgemmFunction
    let getNumThreads: GetThreadsFunction?
    let setNumThreads: SetThreadsFunction?
    /// Read once at load: the string is static inside the library.
    let configuration: String?

    private init(libraryName: String, handle: UnsafeMutableRawPointer, sgemm: SgemmFunction) {
        self.libraryName = libraryName
        self.sgemm = sgemm
        getNumThreads = Self.symbol(handle, "openblas_get_num_threads", as: GetThreadsFunction.self)
        setNumThreads = Self.symbol(handle, "openblas_set_num_threads", as: SetThreadsFunction.self)
        let getConfig = Self.symbol(handle, "openblas_get_config", as: GetConfigFunction.self)
        configuration = getConfig?().map { String(cString: $0) }
    }

    private static func load() -> OpenBLASLibrary? {
        for name in candidateNames {
            // The handle is never closed: the function pointers must stay valid for the process.
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            if let sgemm = symbol(handle, "cblas_sgemm", as: SgemmFunction.self) {
                let library = OpenBLASLibrary(libraryName: name, handle: handle, sgemm: sgemm)
                // MetaRec spreads independent work (the tasks of a meta-batch, blocks of candidate
                // rows) over the cores itself, so OpenBLAS runs one thread per caller unless
                // METAREC_BLAS_THREADS says otherwise. Set once, here: changing it while another
                // thread is inside a multi-threaded call is not safe, and its own threads would
                // only contend with ours (measured: 789 -> 1,614 second-order tasks/s on 2 cores).
                let requested = getenv("METAREC_BLAS_THREADS").flatMap { Int32(String(cString: $0)) } ?? 1
                library.setNumThreads?(max(1, requested))
                return library
            }
            dlclose(handle)
        }
        return nil
    }

    private static func symbol<F>(_ handle: UnsafeMutableRawPointer, _ name: String, as type: F.Type) -> F? {
        guard let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }
}
