import Testing

@testable import MetaRecCore

/// One gemm problem: logical sizes, transposes, scalars and how C starts.
struct GemmCase: Sendable, CustomTestStringConvertible {
    var m: Int
    var n: Int
    var k: Int
    var transposeA: Bool
    var transposeB: Bool
    var alpha: Float
    var beta: Float
    /// Extra stored columns per row of A, B and C, filled with NaN (A, B) or a sentinel (C) so
    /// that reading or writing outside the logical matrices shows up.
    var padding = 3
    /// C filled with NaN before the call: with beta == 0 it must be overwritten, as in BLAS.
    var nanC = false

    var testDescription: String {
        "\(m)×\(n)×\(k) \(transposeA ? "Aᵀ" : "A")·\(transposeB ? "Bᵀ" : "B") α=\(alpha) β=\(beta)"
            + (nanC ? " C=NaN" : "")
    }

    var storedARows: Int { transposeA ? k : m }
    var storedAColumns: Int { transposeA ? m : k }
    var storedBRows: Int { transposeB ? n : k }
    var storedBColumns: Int { transposeB ? k : n }
    var lda: Int { storedAColumns + padding }
    var ldb: Int { storedBColumns + padding }
    var ldc: Int { n + padding }

    /// Covers 1×1×1, odd sizes, the meta-learning shape, and blocking edges of the portable
    /// kernel: k past two depth blocks (kc = 256) with m one row past a row block (mc = 96), and
    /// n past a column block (nc = 1024). Threading is tested separately, with smaller problems.
    static let sizes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (7, 13, 5), (33, 65, 17), (64, 256, 32), (32, 64, 256), (97, 19, 520), (5, 1030, 9),
    ]

    static var all: [GemmCase] {
        var cases: [GemmCase] = []
        for size in sizes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let base = GemmCase(
                        m: size.m, n: size.n, k: size.k, transposeA: transposeA, transposeB: transposeB,
                        alpha: 0.75, beta: -0.5)
                    var unit = base
                    unit.alpha = 1
                    unit.beta = 1
                    var overwrite = base
                    overwrite.alpha = -1.25
                    overwrite.beta = 0
                    overwrite.nanC = true
                    cases += [base, unit, overwrite]
                }
            }
        }
        return cases
    }
}

/// The operands of one case as stored, with their padding.
struct GemmOperands {
    var a: [Float]
    var b: [Float]
    var c: [Float]

    static let cSentinel: Float = 12345

    init(_ gemmCase: GemmCase, seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        func matrix(rows: Int, columns: Int, stride: Int, padding: Float, value: () -> Float) -> [Float] {
            var values = [Float](repeating: padding, count: rows * stride)
            for i in 0..<rows {
                for j in 0..<columns { values[i * stride + j] = value() }
            }
            return values
        }
        a = matrix(rows: gemmCase.storedARows, columns: gemmCase.storedAColumns, stride: gemmCase.lda, padding: .nan) {
            random.uniform(-1, 1)
        }
        b = matrix(rows: gemmCase.storedBRows, columns: gemmCase.storedBColumns, stride: gemmCase.ldb, padding: .nan) {
            random.uniform(-1, 1)
        }
        c = matrix(rows: gemmCase.m, columns: gemmCase.n, stride: gemmCase.ldc, padding: Self.cSentinel) {
            gemmCase.nanC ? .nan : random.uniform(-1, 1)
        }
    }

    func a(_ gemmCase: GemmCase, _ i: Int, _ p: Int) -> Double {
        Double(gemmCase.transposeA ? a[p * gemmCase.lda + i] : a[i * gemmCase.lda + p])
    }

    func b(_ gemmCase: GemmCase, _ p: Int, _ j: Int) -> Double {
        Double(gemmCase.transposeB ? b[j * gemmCase.ldb + p] : b[p * gemmCase.ldb + j])
    }
}

/// Runs one backend on a copy of the operands and returns C as it comes back.
private func runGemm(_ backend: KernelBackend, _ gemmCase: GemmCase, _ operands: GemmOperands) -> [Float] {
    var c = operands.c
    operands.a.withUnsafeBufferPointer { a in
        operands.b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                Kernels.gemm(
                    backend: backend, transposeA: gemmCase.transposeA, transposeB: gemmCase.transposeB,
                    m: gemmCase.m, n: gemmCase.n, k: gemmCase.k, alpha: gemmCase.alpha,
                    a: a.baseAddress!, lda: gemmCase.lda, b: b.baseAddress!, ldb: gemmCase.ldb,
                    beta: gemmCase.beta, c: c.baseAddress!, ldc: gemmCase.ldc)
            }
        }
    }
    return c
}

/// The Double-precision triple loop for one case, with the error each element may carry.
struct GemmReference {
    var expected: [Double]
    /// The standard bound for a k-term Float dot product plus the scaling, relative to magnitude:
    /// (k + 3)·ε·(|α|·Σ|a·b| + |β·c|).
    var allowance: [Double]
    var gemmCase: GemmCase

    init(_ gemmCase: GemmCase, _ operands: GemmOperands) {
        self.gemmCase = gemmCase
        expected = []
        allowance = []
        expected.reserveCapacity(gemmCase.m * gemmCase.n)
        allowance.reserveCapacity(gemmCase.m * gemmCase.n)
        let epsilon = Double(Float.ulpOfOne)
        let alpha = Double(gemmCase.alpha)
        let beta = Double(gemmCase.beta)
        for i in 0..<gemmCase.m {
            for j in 0..<gemmCase.n {
                var sum = 0.0
                var magnitude = 0.0
                for p in 0..<gemmCase.k {
                    let product = operands.a(gemmCase, i, p) * operands.b(gemmCase, p, j)
                    sum += product
                    magnitude += abs(product)
                }
                // beta == 0 ignores C entirely (it may be NaN).
                let betaTerm = beta == 0 ? 0 : beta * Double(operands.c[i * gemmCase.ldc + j])
                expected.append(alpha * sum + betaTerm)
                allowance.append(
                    Double(gemmCase.k + 3) * epsilon * (abs(alpha) * magnitude + abs(betaTerm))
                        + Double(Float.leastNormalMagnitude))
            }
        }
    }
}

/// How far a result is from the reference, or from another result.
struct GemmVerdict: CustomStringConvertible {
    /// Largest |error| / allowance over C; ≤ 1 passes.
    var worstRatio = 0.0
    var worst: (i: Int, j: Int, got: Float, expected: Double)? = nil
    /// Padding of C that was written to.
    var paddingWrites = 0

    var passed: Bool { worstRatio <= 1 && paddingWrites == 0 }

    var description: String {
        var text = "worst error / allowance = \(worstRatio)"
        if let worst {
            text += " at (\(worst.i), \(worst.j)): got \(worst.got), expected \(worst.expected)"
        }
        return text + ", padding writes = \(paddingWrites)"
    }

    /// Checks `result` against the reference.
    init(_ result: [Float], _ reference: GemmReference) {
        self.init(result, reference, other: nil)
    }

    /// Checks two results against each other: each within the allowance of the truth, so within
    /// twice the allowance of each other.
    init(_ result: [Float], against other: [Float], _ reference: GemmReference) {
        self.init(result, reference, other: other)
    }

    private init(_ result: [Float], _ reference: GemmReference, other: [Float]?) {
        let gemmCase = reference.gemmCase
        for i in 0..<gemmCase.m {
            for j in 0..<gemmCase.n {
                let index = i * gemmCase.n + j
                let got = result[i * gemmCase.ldc + j]
                let expected = other.map { Double($0[i * gemmCase.ldc + j]) } ?? reference.expected[index]
                let allowance = (other == nil ? 1 : 2) * reference.allowance[index]
                let error = abs(Double(got) - expected)
                // NaN fails every comparison, so it is made an infinite error explicitly.
                let ratio = error.isNaN ? Double.infinity : error / allowance
                if ratio > worstRatio || worst == nil {
                    worstRatio = ratio
                    worst = (i, j, got, expected)
                }
            }
            for j in gemmCase.n..<gemmCase.ldc where result[i * gemmCase.ldc + j] != GemmOperands.cSentinel {
                paddingWrites += 1
            }
        }
    }
}

@Suite struct KernelTests {
    /// Shown by Swift Testing for each OpenBLAS test it skips.
    static let openBLASMissing: Comment =
        "libopenblas.so.0 was not found, so the OpenBLAS path is not tested (apt-get install libopenblas0)"

    @Test("portable gemm matches a Double triple loop", arguments: GemmCase.all)
    func portableMatchesReference(_ gemmCase: GemmCase) {
        let operands = GemmOperands(gemmCase, seed: 11)
        let verdict = GemmVerdict(runGemm(.portable, gemmCase, operands), GemmReference(gemmCase, operands))
        #expect(verdict.passed, "\(verdict)")
    }

    @Test(
        "OpenBLAS agrees with the reference and the portable kernel",
        .enabled(if: Kernels.isOpenBLASAvailable, KernelTests.openBLASMissing), arguments: GemmCase.all)
    func openBLASAgreesWithPortable(_ gemmCase: GemmCase) {
        let operands = GemmOperands(gemmCase, seed: 23)
        let openBLAS = runGemm(.openBLAS, gemmCase, operands)
        let portable = runGemm(.portable, gemmCase, operands)
        let reference = GemmReference(gemmCase, operands)
        let verdict = GemmVerdict(openBLAS, reference)
        #expect(verdict.passed, "OpenBLAS: \(verdict)")
        let agreement = GemmVerdict(openBLAS, against: portable, reference)
        #expect(agreement.passed, "OpenBLAS vs portable: \(agreement)")
    }

    @Test(
        "OpenBLAS is exercised when installed", .enabled(if: Kernels.isOpenBLASAvailable, KernelTests.openBLASMissing))
    func openBLASIsLoaded() throws {
        let library = try #require(OpenBLASLibrary.shared)
        #expect(Kernels.threadCount >= 1)
        if library.libraryName.hasPrefix("libopenblas") {
            #expect(Kernels.openBLASConfiguration?.contains("OpenBLAS") == true)
        }
    }

    @Test("the portable kernel's row bands give the same result with any thread count", arguments: [2, 3, 5])
    func portableThreadBands(threads: Int) {
        let gemmCase = GemmCase(m: 29, n: 19, k: 300, transposeA: true, transposeB: false, alpha: 0.5, beta: 2)
        let operands = GemmOperands(gemmCase, seed: 5)
        let serial = runGemm(.portable, gemmCase, operands)
        var banded = operands.c
        operands.a.withUnsafeBufferPointer { a in
            operands.b.withUnsafeBufferPointer { b in
                banded.withUnsafeMutableBufferPointer { c in
                    PortableGemm.gemm(
                        transposeA: gemmCase.transposeA, transposeB: gemmCase.transposeB,
                        m: gemmCase.m, n: gemmCase.n, k: gemmCase.k, alpha: gemmCase.alpha,
                        a: a.baseAddress!, lda: gemmCase.lda, b: b.baseAddress!, ldb: gemmCase.ldb,
                        beta: gemmCase.beta, c: c.baseAddress!, ldc: gemmCase.ldc, threads: threads)
                }
            }
        }
        // Same blocking, same order of additions: the bands must reproduce the serial bits.
        #expect(banded.elementsEqual(serial) { $0 == $1 || ($0.isNaN && $1.isNaN) })
        let verdict = GemmVerdict(banded, GemmReference(gemmCase, operands))
        #expect(verdict.passed, "\(verdict)")
    }

    @Test("large products use two threads, small ones one")
    func portableThreadChoice() {
        #expect(PortableGemm.threads(m: 32, n: 64, k: 256) == 1)
        #expect(PortableGemm.threads(m: 128, n: 128, k: 256) == 1)  // exactly 2^22
        let large = PortableGemm.threads(m: 1024, n: 1024, k: 1024)
        #expect(large >= 1 && large <= PortableGemm.maxThreads)
        #expect(PortableGemm.threads(m: Int.max / 2, n: 4, k: 4) >= 1)  // overflow counts as large
    }

    @Test("portable: degenerate sizes, alpha = 0 and k = 0 follow BLAS")
    func portableDegenerateSizes() {
        checkDegenerateSizes(.portable)
    }

    @Test(
        "OpenBLAS: degenerate sizes, alpha = 0 and k = 0 follow BLAS",
        .enabled(if: Kernels.isOpenBLASAvailable, KernelTests.openBLASMissing))
    func openBLASDegenerateSizes() {
        checkDegenerateSizes(.openBLAS)
    }

    private func checkDegenerateSizes(_ backend: KernelBackend) {
        let a: [Float] = [.nan, .nan, .nan, .nan]
        let b: [Float] = [.nan, .nan, .nan, .nan]
        func run(m: Int, n: Int, k: Int, alpha: Float, beta: Float, c: [Float]) -> [Float] {
            var c = c
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        Kernels.gemm(
                            backend: backend, transposeA: false, transposeB: false, m: m, n: n, k: k,
                            alpha: alpha, a: a.baseAddress!, lda: max(1, k), b: b.baseAddress!, ldb: max(1, n),
                            beta: beta, c: c.baseAddress!, ldc: max(1, n))
                    }
                }
            }
            return c
        }
        // m or n == 0: nothing is touched.
        #expect(run(m: 0, n: 2, k: 2, alpha: 1, beta: 0, c: [7, 7]) == [7, 7])
        #expect(run(m: 2, n: 0, k: 2, alpha: 1, beta: 0, c: [7, 7]) == [7, 7])
        // k == 0: C = beta · C, and beta == 0 overwrites NaN.
        #expect(run(m: 2, n: 2, k: 0, alpha: 1, beta: 0.5, c: [2, 4, 6, 8]) == [1, 2, 3, 4])
        #expect(run(m: 2, n: 2, k: 0, alpha: 1, beta: 0, c: [.nan, .nan, .nan, .nan]) == [0, 0, 0, 0])
        // alpha == 0: A and B (all NaN here) are not read.
        #expect(run(m: 2, n: 2, k: 2, alpha: 0, beta: 2, c: [1, 2, 3, 4]) == [2, 4, 6, 8])
        #expect(run(m: 2, n: 2, k: 2, alpha: 0, beta: 1, c: [1, 2, 3, 4]) == [1, 2, 3, 4])
        // A plain 2×2 product with exact small integers.
        let x: [Float] = [1, 2, 3, 4]
        let y: [Float] = [5, 6, 7, 8]
        var z: [Float] = [.nan, .nan, .nan, .nan]
        x.withUnsafeBufferPointer { x in
            y.withUnsafeBufferPointer { y in
                z.withUnsafeMutableBufferPointer { z in
                    Kernels.gemm(
                        backend: backend, transposeA: false, transposeB: false, m: 2, n: 2, k: 2, alpha: 1,
                        a: x.baseAddress!, lda: 2, b: y.baseAddress!, ldb: 2, beta: 0, c: z.baseAddress!, ldc: 2)
                }
            }
        }
        #expect(z == [19, 22, 43, 50])
    }

    @Test("METAREC_KERNELS=portable overrides OpenBLAS, and nothing selects a missing OpenBLAS")
    func environmentOverride() {
        #expect(Kernels.resolveBackend(environmentValue: nil, openBLASAvailable: true) == .openBLAS)
        #expect(Kernels.resolveBackend(environmentValue: "portable", openBLASAvailable: true) == .portable)
        #expect(Kernels.resolveBackend(environmentValue: " Portable\n", openBLASAvailable: true) == .portable)
        #expect(Kernels.resolveBackend(environmentValue: "", openBLASAvailable: true) == .openBLAS)
        #expect(Kernels.resolveBackend(environmentValue: "openblas", openBLASAvailable: true) == .openBLAS)
        #expect(Kernels.resolveBackend(environmentValue: "portablex", openBLASAvailable: true) == .openBLAS)
        #expect(Kernels.resolveBackend(environmentValue: nil, openBLASAvailable: false) == .portable)
        #expect(Kernels.resolveBackend(environmentValue: "openblas", openBLASAvailable: false) == .portable)
        #expect(Kernels.resolveBackend(environmentValue: "portable", openBLASAvailable: false) == .portable)
    }

    @Test("the process backend is consistent with what was found")
    func backendIsConsistent() {
        if !Kernels.isOpenBLASAvailable {
            #expect(Kernels.backend == .portable)
            #expect(Kernels.threadCount == 1)
            #expect(Kernels.openBLASConfiguration == nil)
        }
        if Kernels.backend == .portable { #expect(Kernels.threadCount == 1) }
        #expect(KernelBackend.openBLAS.rawValue == "OpenBLAS")
        #expect(KernelBackend.portable.rawValue == "portable Swift")
    }
}
