import Foundation
import MetaRecCore
import MetaRecData

/// Reading and splitting 1M ratings (a synthetic set of MovieLens 1M's size and format):
/// target < 3 s and peak memory growth < 10× the input files' size.
func runDataBenchmarks() {
    print("== data: synthetic MovieLens-1M-format set, read with MovieLens.load1M, split with ProtocolSplit")
    printKernelHeader()
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-bench-ml1m-\(getpid())")
    defer { try? FileManager.default.removeItem(at: directory) }
    do {
        var clock = Date()
        let inputBytes: Int
        do {
            let synthetic = BuiltInData.synthetic(seed: 0, users: 6040, items: 3706, targetInteractions: 1_000_209)
            let generation = Date().timeIntervalSince(clock)
            print(
                String(
                    format: "generate   %.3f s  (%d ratings, %d users, %d items)", generation,
                    synthetic.dataset.interactions.count, synthetic.dataset.userCount, synthetic.dataset.itemCount))
            try synthetic.writeMovieLens1M(to: directory)
        }
        inputBytes = ["ratings.dat", "users.dat", "movies.dat"].reduce(0) { total, name in
            let size =
                (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)[.size]
                    as? Int) ?? 0
            return total + size
        }
        let reset = resetPeakMemory()
        let before = memoryFigure("VmRSS")
        clock = Date()
        let dataset = try MovieLens.load1M(directory: directory)
        let read = Date().timeIntervalSince(clock)
        clock = Date()
        let split = try ProtocolSplit(dataset: dataset)
        let splitting = Date().timeIntervalSince(clock)
        let peak = memoryFigure("VmHWM")
        let growth = reset ? peak - before : peak
        let mb = { (b: Int) in Double(b) / 1_048_576 }
        print(
            String(
                format: "read       %.3f s  (%d ratings, %d users, %d items, %.1f MB of input files)", read,
                dataset.interactions.count, dataset.userCount, dataset.itemCount, mb(inputBytes)))
        print(
            String(
                format: "split      %.3f s  (%@)", splitting,
                Scenario.allCases.map { "\($0.rawValue) \(split.tasks($0).count)" }.joined(separator: ", ")))
        print(String(format: "total      %.3f s  (target < 3 s)", read + splitting))
        print(
            String(
                format: "memory     peak growth %.1f MB = %.2f× the input (target < 10×)%@", mb(growth),
                Double(growth) / Double(max(inputBytes, 1)), reset ? "" : " [peak could not be reset: absolute VmHWM]"))
    } catch {
        print("data benchmark failed: \(error)")
    }
}

/// Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs), so the peak measures
/// only what follows.
private func resetPeakMemory() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do {
        try handle.write(contentsOf: Data("5".utf8))
        return true
    } catch { return false }
}

/// A figure from /proc/self/status, in bytes (0 when unavailable).
private func memoryFigure(_ key: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
        let digits = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return digits * 1024
    }
    return 0
}
