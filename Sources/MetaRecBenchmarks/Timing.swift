import Dispatch
import Foundation
import MetaRecCore

/// Runs `body` repeatedly in batches of about `batchSeconds` and returns the median seconds
/// per call (after a warm-up batch), so a disturbed batch does not decide the figure.
func medianSecondsPerCall(batches: Int = 7, batchSeconds: Double = 0.2, _ body: () -> Void) -> Double {
    body()
    var calls = 1
    while true {  // calibrate the batch length
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<calls { body() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if seconds >= batchSeconds / 4 || calls >= 1 << 20 {
            calls = max(1, Int(Double(calls) * batchSeconds / max(seconds, 1e-9)))
            break
        }
        calls *= 4
    }
    var perCall: [Double] = []
    for _ in 0..<batches {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<calls { body() }
        perCall.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(calls))
    }
    return perCall.sorted()[perCall.count / 2]
}

/// Percentiles of single-call latencies.
func latencies(count: Int, _ body: () -> Void) -> (p50: Double, p99: Double, mean: Double) {
    for _ in 0..<min(20, count) { body() }
    var samples: [Double] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    samples.sort()
    let p = { (q: Double) in samples[min(samples.count - 1, Int(q * Double(samples.count)))] }
    return (p(0.5), p(0.99), samples.reduce(0, +) / Double(samples.count))
}

/// The kernel line under every benchmark group's header: figures depend on which OpenBLAS kernels
/// ran, and on a virtual CPU that is not obvious (see `Kernels.openBLASCoreSummary`).
func printKernelHeader() {
    var line = "   kernels: \(Kernels.backend.rawValue)"
    if Kernels.backend == .openBLAS, let core = Kernels.openBLASCoreSummary {
        line += ", core \(core)"
    } else if Kernels.isOpenBLASAvailable {
        line += " (OpenBLAS found, METAREC_KERNELS=portable)"
    }
    print(line)
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

/// The 1, 5 and 15 minute load averages, for reading a figure against what else ran.
func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))
        .map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "unknown"
}
