#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Who decided which OpenBLAS kernels (its "core type") run.
public enum OpenBLASCoreTypeSource: String, Sendable, Equatable {
    /// The user's own `OPENBLAS_CORETYPE`.
    case user
    /// MetaRec, from the CPU flags, because OpenBLAS's own detection picked an older core.
    case metaRec
    /// OpenBLAS's own detection, left alone.
    case openBLAS
}

/// Choosing OpenBLAS's core type on x86-64 Linux.
///
/// Why: Debian's DYNAMIC_ARCH OpenBLAS picks its kernels from the CPUID family and model, and on a
/// virtual CPU with a model it does not know it falls back to Prescott (SSE3) kernels even when the
/// CPU has AVX-512: 26.6 instead of 124 GFLOPS on the meta-learning sgemm. OpenBLAS reads
/// `OPENBLAS_CORETYPE` only while the library loads, so the override has to be in the environment
/// before `dlopen`. MetaRec therefore loads OpenBLAS once as it is, asks it which core it picked
/// (`openblas_get_corename`), and only when that core is older than the CPU flags allow does it
/// unload the library and load it again with `OPENBLAS_CORETYPE` set. A user's own
/// `OPENBLAS_CORETYPE` always wins; on other machines nothing changes.
enum OpenBLASCoreType {
    /// The variable OpenBLAS reads at load time.
    static let environmentVariable = "OPENBLAS_CORETYPE"

    /// What to do once OpenBLAS has loaded and reported `detectedCore`.
    enum Decision: Equatable {
        /// Keep the library as loaded; `source` says whose choice that was.
        case keep(OpenBLASCoreTypeSource)
        /// Reload with `OPENBLAS_CORETYPE` set to this core.
        case override(String)
    }

    /// The best core type the CPU flags support, as OpenBLAS spells it: SkylakeX for AVX-512
    /// (F, BW, VL, DQ: what its SkylakeX kernels use), Haswell for AVX2 with FMA, else nil.
    /// On Linux the kernel hides flags the OS does not enable (e.g. AVX-512 without its XSAVE
    /// state), so the flags are safe to act on. Only x86-64 has these cores.
    static func preferredCore(cpuFlags: Set<String>, isX86_64: Bool) -> String? {
        guard isX86_64 else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// How capable a core's sgemm kernels are: 2 for AVX-512, 1 for AVX2, 0 for older or generic
    /// cores; nil for a name not listed (a newer OpenBLAS's core is assumed better than ours).
    static func rank(ofCore name: String) -> Int? {
        switch name.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 2
        case "haswell", "zen", "excavator": return 1
        case "unknown", "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn",
            "dunnington", "nehalem", "athlon", "opteron", "opteron_sse3", "barcelona", "nano", "sandybridge",
            "bobcat", "bulldozer", "piledriver", "steamroller":
            return 0
        default: return nil
        }
    }

    /// The decision, pure so it can be tested on any flag set. `userValue` is the user's
    /// `OPENBLAS_CORETYPE` (blank counts as unset); `detectedCore` is what OpenBLAS picked on its own
    /// (nil when it cannot say, e.g. a reference CBLAS: then nothing is overridden).
    static func decide(userValue: String?, cpuFlags: Set<String>, isX86_64: Bool, detectedCore: String?)
        -> Decision
    {
        if let userValue, userValue.contains(where: { !$0.isWhitespace }) { return .keep(.user) }
        guard let preferred = preferredCore(cpuFlags: cpuFlags, isX86_64: isX86_64),
            let detectedCore, let detected = rank(ofCore: detectedCore), let wanted = rank(ofCore: preferred),
            detected < wanted
        else { return .keep(.openBLAS) }
        return .override(preferred)
    }

    /// The flags of the first processor in a `/proc/cpuinfo` text (the `flags` line, x86 only);
    /// empty when there is none.
    static func cpuFlags(fromCPUInfo text: String) -> Set<String> {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].filter({ !$0.isWhitespace }) == "flags" {
                return Set(line[line.index(after: colon)...].split(whereSeparator: \.isWhitespace).map(String.init))
            }
        }
        return []
    }

    /// This machine's CPU flags: `/proc/cpuinfo` on Linux, empty elsewhere or when unreadable.
    static func currentCPUFlags() -> Set<String> {
        #if os(Linux)
            guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
            defer { fclose(file) }
            var line: UnsafeMutablePointer<CChar>? = nil
            var capacity = 0
            defer { free(line) }
            // Only up to the first processor's flags line: the file repeats it for every core.
            while getline(&line, &capacity, file) > 0, let line {
                let text = String(cString: line)
                if text.hasPrefix("flags") { return cpuFlags(fromCPUInfo: text) }
            }
            return []
        #else
            return []
        #endif
    }

    static var isX86_64: Bool {
        #if arch(x86_64)
            return true
        #else
            return false
        #endif
    }
}
