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
    typealias GetCoreNameFunction = @convention(c) () -> UnsafePointer<CChar>?

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
    /// The kernels in use (`openblas_get_corename`), nil without that function.
    let coreName: String?
    /// Who chose `coreName`; see `OpenBLASCoreType`.
    let coreSource: OpenBLASCoreTypeSource
    /// What OpenBLAS picked on its own when MetaRec overrode it, for the report.
    let detectedCoreName: String?

    private init(
        libraryName: String, handle: UnsafeMutableRawPointer, sgemm: SgemmFunction,
        coreSource: OpenBLASCoreTypeSource, detectedCoreName: String?
    ) {
        self.libraryName = libraryName
        self.sgemm = sgemm
        getNumThreads = Self.symbol(handle, "openblas_get_num_threads", as: GetThreadsFunction.self)
        setNumThreads = Self.symbol(handle, "openblas_set_num_threads", as: SetThreadsFunction.self)
        let getConfig = Self.symbol(handle, "openblas_get_config", as: GetConfigFunction.self)
        configuration = getConfig?().map { String(cString: $0) }
        coreName = Self.coreName(handle)
        self.coreSource = coreSource
        self.detectedCoreName = detectedCoreName
    }

    private static func coreName(_ handle: UnsafeMutableRawPointer) -> String? {
        symbol(handle, "openblas_get_corename", as: GetCoreNameFunction.self)?().map { String(cString: $0) }
    }

    private static func load() -> OpenBLASLibrary? {
        for name in candidateNames {
            // The handle is never closed (except to reload with another core type, below): the
            // function pointers must stay valid for the process.
            guard var handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            if symbol(handle, "cblas_sgemm", as: SgemmFunction.self) != nil {
                let userValue = getenv(OpenBLASCoreType.environmentVariable).map { String(cString: $0) }
                let detected = coreName(handle)
                let decision = OpenBLASCoreType.decide(
                    userValue: userValue, cpuFlags: OpenBLASCoreType.currentCPUFlags(),
                    isX86_64: OpenBLASCoreType.isX86_64, detectedCore: detected)
                var source = OpenBLASCoreTypeSource.openBLAS
                switch decision {
                case .keep(let keptSource): source = keptSource
                case .override(let core):
                    if let reloaded = reload(name, handle: handle, coreType: core, userValue: userValue) {
                        handle = reloaded.handle
                        if reloaded.applied { source = .metaRec }
                    } else {
                        continue  // could not be opened again: try the next name
                    }
                }
                guard let sgemm = symbol(handle, "cblas_sgemm", as: SgemmFunction.self) else {
                    dlclose(handle)
                    continue
                }
                let library = OpenBLASLibrary(
                    libraryName: name, handle: handle, sgemm: sgemm, coreSource: source,
                    detectedCoreName: source == .metaRec ? detected : nil)
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

    /// Closes `handle` and opens `name` again with `OPENBLAS_CORETYPE=coreType`, which OpenBLAS
    /// reads in its load-time constructor. `applied` is false when the library stayed loaded (another
    /// handle holds it), so the old kernels remain; the variable is removed again afterwards so
    /// child processes and later reports see only the user's environment (a blank value the user
    /// set, which counts as unset, is put back).
    private static func reload(
        _ name: String, handle: UnsafeMutableRawPointer, coreType: String, userValue: String?
    ) -> (handle: UnsafeMutableRawPointer, applied: Bool)? {
        dlclose(handle)
        if let stillLoaded = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD) {
            return (stillLoaded, false)
        }
        setenv(OpenBLASCoreType.environmentVariable, coreType, 1)
        defer {
            if let userValue {
                setenv(OpenBLASCoreType.environmentVariable, userValue, 1)
            } else {
                unsetenv(OpenBLASCoreType.environmentVariable)
            }
        }
        guard let reloaded = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { return nil }
        return (reloaded, true)
    }

    private static func symbol<F>(_ handle: UnsafeMutableRawPointer, _ name: String, as type: F.Type) -> F? {
        guard let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: type)
    }
}
