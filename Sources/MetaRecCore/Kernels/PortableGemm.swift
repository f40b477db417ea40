import Dispatch
import Foundation

/// The portable single-precision GEMM: GotoBLAS-style blocking with packed panels and a 6×8
/// register-blocked micro-kernel written with `SIMD4<Float>` `*` and `+`.
///
/// Why this shape: without `-target-cpu`, `addingProduct` lowers to one libm `fmaf` call per lane
/// (about 0.8 GFLOPS), while separate multiply and add stay in SSE registers. Packing makes the
/// four transpose variants and ragged edges one code path: the micro-kernel always reads
/// contiguous, zero-padded panels.
enum PortableGemm {
    /// Rows of C per micro-tile: 6 rows × 2 xmm accumulators = 12 of the 16 xmm registers.
    static let mr = 6
    /// Columns of C per micro-tile: two `SIMD4<Float>` (SSE registers, the portable baseline).
    static let nr = 8
    /// Depth of a packed block: a kc×nr panel of B (8 KiB) stays in L1 across the row panels.
    static let kc = 256
    /// Rows of a packed A block (mc×kc splatted values = 384 KiB, in L2); a multiple of `mr`.
    static let mc = 96
    /// Columns of a packed B block (kc×nc = 1 MiB); a multiple of `nr`.
    static let nc = 1024
    /// Above this many multiply-adds the rows of C are split across threads.
    static let parallelThreshold = 1 << 22
    /// At most this many threads: the development and CI machines have two cores, and more was
    /// never measured.
    static let maxThreads = 2

    /// Read once: `activeProcessorCount` is not free and does not change while we run.
    private static let cores = ProcessInfo.processInfo.activeProcessorCount

    /// The threads a problem of this size gets: one below `parallelThreshold` multiply-adds, where
    /// the dispatch overhead and the second copy of packed B would cost more than they save.
    static func threads(m: Int, n: Int, k: Int) -> Int {
        let (mn, overflow1) = m.multipliedReportingOverflow(by: n)
        let (mnk, overflow2) = mn.multipliedReportingOverflow(by: k)
        guard overflow1 || overflow2 || mnk > parallelThreshold else { return 1 }
        return max(1, min(maxThreads, cores, m / mr))
    }

    /// Same contract as `Kernels.gemm`, with m, n, k > 0 and alpha != 0 (the caller handles the rest).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
        threads requestedThreads: Int? = nil
    ) {
        let threadCount = requestedThreads ?? threads(m: m, n: n, k: k)
        if threadCount <= 1 {
            serial(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        // Each thread owns a band of rows of C (a multiple of mr) and packs its own copy of B.
        let band = ((m + threadCount - 1) / threadCount + mr - 1) / mr * mr
        let shared = SharedPointers(a: a, b: b, c: c)
        DispatchQueue.concurrentPerform(iterations: threadCount) { t in
            let i0 = t * band
            guard i0 < m else { return }
            let rows = min(band, m - i0)
            serial(
                transposeA: transposeA, transposeB: transposeB, m: rows, n: n, k: k, alpha: alpha,
                a: transposeA ? shared.a + i0 : shared.a + i0 * lda, lda: lda, b: shared.b, ldb: ldb,
                beta: beta, c: shared.c + i0 * ldc, ldc: ldc)
        }
    }

    /// The pointers handed to worker threads. `@unchecked Sendable`: the threads write disjoint row
    /// bands of C and only read A and B, and `concurrentPerform` returns after all of them finish.
    private struct SharedPointers: @unchecked Sendable {
        let a: UnsafePointer<Float>
        let b: UnsafePointer<Float>
        let c: UnsafeMutablePointer<Float>
    }

    private static func serial(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let kcMax = min(k, kc)
        // Allocated per call: measured, reusing static buffers gained nothing at 32×256·256×64.
        let packedA = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: roundUp(min(m, mc), mr) * kcMax)
        let packedB = UnsafeMutablePointer<Float>.allocate(capacity: roundUp(min(n, nc), nr) * kcMax)
        defer {
            packedA.deallocate()
            packedB.deallocate()
        }

        for jc in stride(from: 0, to: n, by: nc) {
            let ncCur = min(nc, n - jc)
            for pc in stride(from: 0, to: k, by: kc) {
                let kcCur = min(kc, k - pc)
                // Later depth blocks accumulate onto what the first one wrote.
                let betaCur: Float = pc == 0 ? beta : 1
                packB(
                    transposed: transposeB, b: b, ldb: ldb, row0: pc, column0: jc,
                    depth: kcCur, columns: ncCur, into: packedB)
                for ic in stride(from: 0, to: m, by: mc) {
                    let mcCur = min(mc, m - ic)
                    packA(
                        transposed: transposeA, a: a, lda: lda, row0: ic, column0: pc,
                        rows: mcCur, depth: kcCur, into: packedA)
                    for jr in stride(from: 0, to: ncCur, by: nr) {
                        let columns = min(nr, ncCur - jr)
                        let panelB = UnsafePointer(packedB + jr * kcCur)
                        for ir in stride(from: 0, to: mcCur, by: mr) {
                            microKernel(
                                depth: kcCur, a: UnsafePointer(packedA + ir * kcCur), b: panelB,
                                c: c + (ic + ir) * ldc + jc + jr, ldc: ldc,
                                rows: min(mr, mcCur - ir), columns: columns,
                                alpha: alpha, beta: betaCur)
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func roundUp(_ x: Int, _ multiple: Int) -> Int {
        (x + multiple - 1) / multiple * multiple
    }

    /// Packs op(A)[row0..<row0+rows, column0..<column0+depth] into row panels of `mr` rows, each
    /// laid out depth-major (`mr` consecutive values per depth step), zero-padding the last panel.
    /// Every value is stored splatted across a `SIMD4` so the micro-kernel needs no broadcasts.
    private static func packA(
        transposed: Bool, a: UnsafePointer<Float>, lda: Int, row0: Int, column0: Int,
        rows: Int, depth: Int, into packed: UnsafeMutablePointer<SIMD4<Float>>
    ) {
        func put(_ value: Float, _ index: Int) { packed[index] = SIMD4(repeating: value) }
        for ir in stride(from: 0, to: rows, by: mr) {
            let panel = ir * depth
            let panelRows = min(mr, rows - ir)
            if transposed {
                for p in 0..<depth {
                    let source = a + (column0 + p) * lda + row0 + ir
                    let target = panel + p * mr
                    for r in 0..<panelRows { put(source[r], target + r) }
                    for r in panelRows..<mr { put(0, target + r) }
                }
            } else {
                for r in 0..<panelRows {
                    let source = a + (row0 + ir + r) * lda + column0
                    for p in 0..<depth { put(source[p], panel + p * mr + r) }
                }
                for r in panelRows..<mr {
                    for p in 0..<depth { put(0, panel + p * mr + r) }
                }
            }
        }
    }

    /// Packs op(B)[row0..<row0+depth, column0..<column0+columns] into column panels of `nr`
    /// columns, each laid out depth-major, zero-padding the last panel.
    private static func packB(
        transposed: Bool, b: UnsafePointer<Float>, ldb: Int, row0: Int, column0: Int,
        depth: Int, columns: Int, into packed: UnsafeMutablePointer<Float>
    ) {
        for jr in stride(from: 0, to: columns, by: nr) {
            let panel = packed + jr * depth
            let panelColumns = min(nr, columns - jr)
            if transposed {
                // B is stored n×k: walk each stored row (a column of op(B)) contiguously.
                let source = b + (column0 + jr) * ldb + row0
                var p = 0
                if panelColumns == nr {
                    // 8×4 blocks transposed in registers: eight 4-wide loads, four 8-wide stores.
                    while p + 4 <= depth {
                        let row = UnsafeRawPointer(source + p)
                        let stride = ldb * MemoryLayout<Float>.stride
                        let v0 = row.loadUnaligned(as: SIMD4<Float>.self)
                        let v1 = row.loadUnaligned(fromByteOffset: stride, as: SIMD4<Float>.self)
                        let v2 = row.loadUnaligned(fromByteOffset: 2 * stride, as: SIMD4<Float>.self)
                        let v3 = row.loadUnaligned(fromByteOffset: 3 * stride, as: SIMD4<Float>.self)
                        let v4 = row.loadUnaligned(fromByteOffset: 4 * stride, as: SIMD4<Float>.self)
                        let v5 = row.loadUnaligned(fromByteOffset: 5 * stride, as: SIMD4<Float>.self)
                        let v6 = row.loadUnaligned(fromByteOffset: 6 * stride, as: SIMD4<Float>.self)
                        let v7 = row.loadUnaligned(fromByteOffset: 7 * stride, as: SIMD4<Float>.self)
                        let target = UnsafeMutableRawPointer(panel + p * nr)
                        for q in 0..<4 {
                            let column = SIMD8<Float>(v0[q], v1[q], v2[q], v3[q], v4[q], v5[q], v6[q], v7[q])
                            target.storeBytes(of: column, toByteOffset: q * 32, as: SIMD8<Float>.self)
                        }
                        p += 4
                    }
                }
                for j in 0..<panelColumns {
                    for q in p..<depth { panel[q * nr + j] = source[j * ldb + q] }
                }
                for j in panelColumns..<nr {
                    for q in p..<depth { panel[q * nr + j] = 0 }
                }
            } else if panelColumns == nr {
                for p in 0..<depth {
                    let source = UnsafeRawPointer(b + (row0 + p) * ldb + column0 + jr)
                    UnsafeMutableRawPointer(panel + p * nr).storeBytes(
                        of: source.loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                }
            } else {
                for p in 0..<depth {
                    let source = b + (row0 + p) * ldb + column0 + jr
                    let target = panel + p * nr
                    for j in 0..<panelColumns { target[j] = source[j] }
                    for j in panelColumns..<nr { target[j] = 0 }
                }
            }
        }
    }

    /// C[rows×columns] = alpha · (packed A panel · packed B panel) + beta · C for one micro-tile.
    /// Ragged edges compute zero-padded columns but only 2, 4 or 6 rows, so that a 32-row
    /// problem does not pay for 36; only the stores are clipped to `rows` × `columns`.
    @inline(__always)
    private static func microKernel(
        depth: Int, a: UnsafePointer<SIMD4<Float>>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int, alpha: Float, beta: Float
    ) {
        if rows > 4 {
            kernel6(depth, a, b, c, ldc, rows, columns, alpha, beta)
        } else if rows > 2 {
            kernel4(depth, a, b, c, ldc, rows, columns, alpha, beta)
        } else {
            kernel2(depth, a, b, c, ldc, rows, columns, alpha, beta)
        }
    }

    // One function per height so that each gets its own loop with the height as a constant.
    @inline(never)
    private static func kernel6(
        _ depth: Int, _ a: UnsafePointer<SIMD4<Float>>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        _ ldc: Int, _ rows: Int, _ columns: Int, _ alpha: Float, _ beta: Float
    ) {
        kernelBody(computing: 6, depth, a, b, c, ldc, rows, columns, alpha, beta)
    }

    @inline(never)
    private static func kernel4(
        _ depth: Int, _ a: UnsafePointer<SIMD4<Float>>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        _ ldc: Int, _ rows: Int, _ columns: Int, _ alpha: Float, _ beta: Float
    ) {
        kernelBody(computing: 4, depth, a, b, c, ldc, rows, columns, alpha, beta)
    }

    @inline(never)
    private static func kernel2(
        _ depth: Int, _ a: UnsafePointer<SIMD4<Float>>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        _ ldc: Int, _ rows: Int, _ columns: Int, _ alpha: Float, _ beta: Float
    ) {
        kernelBody(computing: 2, depth, a, b, c, ldc, rows, columns, alpha, beta)
    }

    /// The register-blocked loop. `computing` is a literal at each call site, so after inlining
    /// the unused rows' branches fold away. Packed A holds every value splatted to a `SIMD4`,
    /// which turns the per-row broadcast into a plain aligned load (no `shufps` competing with
    /// the multiplies and adds): this took 1024³ from 36 to 46 GFLOPS on the Zen 4 test machine.
    @inline(__always)
    private static func kernelBody(
        computing computedRows: Int, _ depth: Int, _ a: UnsafePointer<SIMD4<Float>>, _ b: UnsafePointer<Float>,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ rows: Int, _ columns: Int, _ alpha: Float,
        _ beta: Float
    ) {
        var c0l = SIMD4<Float>()
        var c1l = SIMD4<Float>()
        var c2l = SIMD4<Float>()
        var c3l = SIMD4<Float>()
        var c4l = SIMD4<Float>()
        var c5l = SIMD4<Float>()
        var c0h = SIMD4<Float>()
        var c1h = SIMD4<Float>()
        var c2h = SIMD4<Float>()
        var c3h = SIMD4<Float>()
        var c4h = SIMD4<Float>()
        var c5h = SIMD4<Float>()
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<depth {
            let b0 = pb.load(as: SIMD4<Float>.self)
            let b1 = pb.load(fromByteOffset: 16, as: SIMD4<Float>.self)
            c0l += pa[0] * b0
            c0h += pa[0] * b1
            c1l += pa[1] * b0
            c1h += pa[1] * b1
            if computedRows > 2 {
                c2l += pa[2] * b0
                c2h += pa[2] * b1
                c3l += pa[3] * b0
                c3h += pa[3] * b1
            }
            if computedRows > 4 {
                c4l += pa[4] * b0
                c4h += pa[4] * b1
                c5l += pa[5] * b0
                c5h += pa[5] * b1
            }
            pa += mr
            pb += nr * MemoryLayout<Float>.stride
        }
        func put(_ low: SIMD4<Float>, _ high: SIMD4<Float>, row r: Int) {
            store(SIMD8(lowHalf: low, highHalf: high), to: c + r * ldc, columns: columns, alpha: alpha, beta: beta)
        }
        put(c0l, c0h, row: 0)
        if rows > 1 { put(c1l, c1h, row: 1) }
        if rows > 2 { put(c2l, c2h, row: 2) }
        if rows > 3 { put(c3l, c3h, row: 3) }
        if rows > 4 { put(c4l, c4h, row: 4) }
        if rows > 5 { put(c5l, c5h, row: 5) }
    }

    /// Writes `alpha · v + beta · row` into the first `columns` values of a row of C; with
    /// `beta == 0` the old values are not read, so NaN there is overwritten as in BLAS.
    @inline(__always)
    private static func store(
        _ v: SIMD8<Float>, to row: UnsafeMutablePointer<Float>, columns: Int, alpha: Float, beta: Float
    ) {
        let scaled = alpha == 1 ? v : v * alpha
        if columns == 8 {
            let raw = UnsafeMutableRawPointer(row)
            if beta == 0 {
                raw.storeBytes(of: scaled, as: SIMD8<Float>.self)
            } else {
                let old = UnsafeRawPointer(raw).loadUnaligned(as: SIMD8<Float>.self)
                raw.storeBytes(of: beta == 1 ? scaled + old : scaled + beta * old, as: SIMD8<Float>.self)
            }
        } else {
            for j in 0..<columns {
                row[j] = beta == 0 ? scaled[j] : scaled[j] + beta * row[j]
            }
        }
    }
}
