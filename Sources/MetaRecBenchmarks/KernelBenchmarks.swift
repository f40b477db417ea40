import Dispatch
import Foundation
import MetaRecCore

/// GFLOPS of the matrix-multiply kernels on every available backend: the small product that
/// dominates a meta-learning step (32×256 · 256×64) and a large square one (1024³).
func runKernelBenchmarks() {
    print("== kernels: row-major sgemm, C = A·B (no transposes)")
    print(
        "   backend in use: \(Kernels.backend.rawValue)"
            + (Kernels.isOpenBLASAvailable ? "" : "  (libopenblas.so.0 not found: OpenBLAS rows skipped)"))
    if let configuration = Kernels.openBLASConfiguration {
        print("   OpenBLAS: \(configuration)")
    }
    if let core = Kernels.openBLASCoreSummary {
        print("   OpenBLAS core: \(core)")
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    print("   active processors: \(cores)")

    var backends: [KernelBackend] = [.portable]
    if Kernels.isOpenBLASAvailable { backends.append(.openBLAS) }
    // Restored at the end: setOpenBLASThreads changes the whole process.
    // MetaRec runs OpenBLAS single-threaded (METAREC_BLAS_THREADS); the many-thread row uses
    // every core, then the setting is restored.
    let startingOpenBLASThreads = Kernels.isOpenBLASAvailable ? Kernels.threadCount : 1
    let defaultOpenBLASThreads = ProcessInfo.processInfo.activeProcessorCount

    var rows: [[String]] = []
    for backend in backends {
        if backend == .openBLAS { Kernels.setOpenBLASThreads(1) }
        let small = KernelProblem(m: 32, n: 64, k: 256, batchSeconds: 0.02)
        rows.append(row(backend, small, threads: "1", result: small.measure(backend: backend)))
        let large = KernelProblem(m: 1024, n: 1024, k: 1024, batchSeconds: 0.2)
        if backend == .openBLAS {
            rows.append(row(backend, large, threads: "1", result: large.measure(backend: backend)))
            Kernels.setOpenBLASThreads(defaultOpenBLASThreads)
            rows.append(
                row(
                    backend, large, threads: "\(defaultOpenBLASThreads) (all cores)",
                    result: large.measure(backend: backend)))
        } else {
            // The portable kernel picks its own threads: up to 2 above 2^22 multiply-adds.
            rows.append(
                row(backend, large, threads: "\(min(2, cores)) (auto)", result: large.measure(backend: backend)))
        }
    }
    if Kernels.isOpenBLASAvailable { Kernels.setOpenBLASThreads(startingOpenBLASThreads) }

    printTable(header: ["backend", "problem (m×k · k×n)", "threads", "median time", "GFLOPS", "spread"], rows: rows)
}

/// The thread count OpenBLAS reports, read when OpenBLAS is the active backend or, with the
/// `METAREC_KERNELS=portable` override, by assuming the library default (all cores).

private func row(_ backend: KernelBackend, _ problem: KernelProblem, threads: String, result: KernelTiming)
    -> [String]
{
    [
        backend.rawValue,
        "\(problem.m)×\(problem.k) · \(problem.k)×\(problem.n)",
        threads,
        formatSeconds(result.medianSeconds),
        String(format: "%.1f", result.gflops),
        String(format: "±%.0f%%", result.spread * 100),
    ]
}

private struct KernelTiming {
    var medianSeconds: Double
    var gflops: Double
    /// (slowest − fastest batch) / median, to show how noisy the shared machine was.
    var spread: Double
}

private struct KernelProblem {
    var m: Int
    var n: Int
    var k: Int
    /// Seconds each timing batch should last, so that small problems repeat enough to time reliably.
    var batchSeconds: Double

    var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

    /// Median per-call time over several batches, after a warm-up that also sizes the batches.
    func measure(backend: KernelBackend, batches: Int = 7) -> KernelTiming {
        var generator = SeededGenerator(seed: 2024)
        let a = (0..<(m * k)).map { _ in generator.uniform() - 0.5 }
        let b = (0..<(k * n)).map { _ in generator.uniform() - 0.5 }
        var c = [Float](repeating: 0, count: m * n)

        func run(_ repetitions: Int) -> Double {
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        let start = DispatchTime.now().uptimeNanoseconds
                        for _ in 0..<repetitions {
                            Kernels.gemm(
                                backend: backend, transposeA: false, transposeB: false, m: m, n: n, k: k,
                                alpha: 1, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                                beta: 0, c: c.baseAddress!, ldc: n)
                        }
                        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    }
                }
            }
        }

        let once = max(run(1), 1e-7)
        let repetitions = max(1, Int(batchSeconds / once))
        _ = run(repetitions)
        let perCall = (0..<batches).map { _ in run(repetitions) / Double(repetitions) }.sorted()
        let median = perCall[perCall.count / 2]
        return KernelTiming(
            medianSeconds: median, gflops: flops / median / 1e9,
            spread: (perCall.last! - perCall.first!) / median)
    }
}

private func formatSeconds(_ seconds: Double) -> String {
    if seconds < 1e-3 { return String(format: "%.1f µs", seconds * 1e6) }
    if seconds < 1 { return String(format: "%.2f ms", seconds * 1e3) }
    return String(format: "%.3f s", seconds)
}

private func printTable(header: [String], rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.indices.map { column in
            let cell = cells[column]
            let padding = String(repeating: " ", count: widths[column] - cell.count)
            // Text columns left-aligned, figures right-aligned.
            return column < 3 ? cell + padding : padding + cell
        }.joined(separator: "  ")
    }
    print("   " + line(header))
    print("   " + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
    for row in rows { print("   " + line(row)) }
}
