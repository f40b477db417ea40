import Testing

@testable import MetaRecCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct OpenBLASCoreTypeTests {
    /// The flags of the virtual CPU that made OpenBLAS fall back to Prescott (abridged).
    static let avx512: Set<String> = [
        "sse", "sse2", "ssse3", "sse4_1", "sse4_2", "avx", "fma", "avx2", "avx512f", "avx512dq", "avx512cd",
        "avx512bw", "avx512vl",
    ]
    static let avx2: Set<String> = ["sse", "sse2", "ssse3", "sse4_1", "sse4_2", "avx", "fma", "avx2"]
    static let sse: Set<String> = ["sse", "sse2", "sse3", "ssse3"]

    private func decide(
        _ flags: Set<String>, detected: String?, user: String? = nil, x86: Bool = true
    ) -> OpenBLASCoreType.Decision {
        OpenBLASCoreType.decide(userValue: user, cpuFlags: flags, isX86_64: x86, detectedCore: detected)
    }

    @Test("AVX-512 flags choose SkylakeX over a generic or AVX2 core, and keep a good one")
    func skylakeX() {
        #expect(OpenBLASCoreType.preferredCore(cpuFlags: Self.avx512, isX86_64: true) == "SkylakeX")
        #expect(decide(Self.avx512, detected: "Prescott") == .override("SkylakeX"))
        #expect(decide(Self.avx512, detected: "Sandybridge") == .override("SkylakeX"))
        #expect(decide(Self.avx512, detected: "Haswell") == .override("SkylakeX"))
        #expect(decide(Self.avx512, detected: "SkylakeX") == .keep(.openBLAS))
        #expect(decide(Self.avx512, detected: "Cooperlake") == .keep(.openBLAS))
    }

    @Test("AVX2 with FMA chooses Haswell; AVX-512 without all of F, BW, VL, DQ counts as AVX2")
    func haswell() {
        #expect(OpenBLASCoreType.preferredCore(cpuFlags: Self.avx2, isX86_64: true) == "Haswell")
        #expect(decide(Self.avx2, detected: "Prescott") == .override("Haswell"))
        #expect(decide(Self.avx2, detected: "haswell") == .keep(.openBLAS))
        #expect(decide(Self.avx2, detected: "Zen") == .keep(.openBLAS))
        var partial = Self.avx512
        partial.remove("avx512bw")
        #expect(OpenBLASCoreType.preferredCore(cpuFlags: partial, isX86_64: true) == "Haswell")
        var noFMA = Self.avx2
        noFMA.remove("fma")
        #expect(OpenBLASCoreType.preferredCore(cpuFlags: noFMA, isX86_64: true) == nil)
    }

    @Test("without AVX2, or when OpenBLAS cannot say or names a core we do not know, OpenBLAS decides")
    func noOverride() {
        #expect(OpenBLASCoreType.preferredCore(cpuFlags: Self.sse, isX86_64: true) == nil)
        #expect(decide(Self.sse, detected: "Prescott") == .keep(.openBLAS))
        #expect(decide([], detected: "Prescott") == .keep(.openBLAS))
        #expect(decide(Self.avx512, detected: nil) == .keep(.openBLAS))
        #expect(decide(Self.avx512, detected: "SomeFutureCore") == .keep(.openBLAS))
    }

    @Test("the user's OPENBLAS_CORETYPE always wins; a blank one counts as unset")
    func userWins() {
        #expect(decide(Self.avx512, detected: "Prescott", user: "Haswell") == .keep(.user))
        #expect(decide(Self.avx512, detected: "Prescott", user: "Prescott") == .keep(.user))
        #expect(decide(Self.sse, detected: "Prescott", user: "SkylakeX") == .keep(.user))
        #expect(decide(Self.avx512, detected: "Prescott", user: " ") == .override("SkylakeX"))
        #expect(decide(Self.avx512, detected: "Prescott", user: "") == .override("SkylakeX"))
    }

    @Test("other architectures are left to OpenBLAS")
    func nonX86() {
        #expect(OpenBLASCoreType.preferredCore(cpuFlags: Self.avx512, isX86_64: false) == nil)
        #expect(decide(Self.avx512, detected: "Prescott", x86: false) == .keep(.openBLAS))
        #expect(decide(["fp", "asimd", "sve"], detected: "ARMV8", x86: false) == .keep(.openBLAS))
    }

    @Test("the flags line of /proc/cpuinfo is parsed; other lines, and 'vmx flags', are not")
    func parsesCPUInfo() {
        let text = """
            processor\t: 0
            vendor_id\t: GenuineIntel
            model name\t: Intel(R) Xeon(R) Processor
            flags\t\t: fpu sse2 avx2 fma avx512f
            vmx flags\t: vnmi ept
            bugs\t\t: spectre_v1

            processor\t: 1
            flags\t\t: fpu
            """
        #expect(OpenBLASCoreType.cpuFlags(fromCPUInfo: text) == ["fpu", "sse2", "avx2", "fma", "avx512f"])
        #expect(OpenBLASCoreType.cpuFlags(fromCPUInfo: "Features\t: fp asimd\n").isEmpty)
        #expect(OpenBLASCoreType.cpuFlags(fromCPUInfo: "").isEmpty)
    }

    @Test(
        "the loaded OpenBLAS runs kernels at least as good as the CPU flags allow, unless the user chose",
        .enabled(if: Kernels.isOpenBLASAvailable, KernelTests.openBLASMissing))
    func processChoice() throws {
        let library = try #require(OpenBLASLibrary.shared)
        guard library.libraryName.hasPrefix("libopenblas"), let core = library.coreName else { return }
        #expect(Kernels.openBLASCoreSummary?.hasPrefix(core) == true)
        // MetaRec's override is gone from the environment once the library has loaded.
        let environment = getenv(OpenBLASCoreType.environmentVariable).map { String(cString: $0) }
        if library.coreSource == .metaRec { #expect(environment == nil) }
        guard library.coreSource != .user,
            let preferred = OpenBLASCoreType.preferredCore(
                cpuFlags: OpenBLASCoreType.currentCPUFlags(), isX86_64: OpenBLASCoreType.isX86_64),
            let wanted = OpenBLASCoreType.rank(ofCore: preferred), let have = OpenBLASCoreType.rank(ofCore: core)
        else { return }
        #expect(have >= wanted, "OpenBLAS runs \(core) on a CPU that allows \(preferred)")
    }
}
