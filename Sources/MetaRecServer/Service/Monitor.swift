import Foundation

/// Request latencies of the last minute and recent events, for the admin status. A lock, not an
/// actor: recording is on every request's path and must not queue behind a reader.
///
/// Latencies go into one histogram per second of the last minute (bins 5 % wide on a log
/// scale), so recording and reading both cost the same however many requests arrive: the
/// status reads 60 histograms, not the requests, and its quantiles are good to one bin (5 %).
final class Monitor: @unchecked Sendable {
    private let lock = NSLock()
    /// `seconds` slots of `bins` counts each: slot `s` holds the second `second[s]`.
    private var counts: [Int32]
    private var second: [Int]
    private var total = 0
    private var recent: [String] = []

    private static let seconds = 60
    /// Bin 0 holds everything at or below `smallest`; bin i the latencies up to smallest·growthⁱ.
    private static let smallest = 1e-6
    private static let growth = 1.05
    private static let bins = Int((log(1e3 / smallest) / log(growth)).rounded(.up)) + 1

    init() {
        counts = [Int32](repeating: 0, count: Self.seconds * Self.bins)
        second = [Int](repeating: -1, count: Self.seconds)
    }

    static func bin(_ seconds: Double) -> Int {
        guard seconds > smallest else { return 0 }
        return min(bins - 1, Int((log(seconds / smallest) / log(growth)).rounded(.up)))
    }

    /// The upper edge of a bin, in seconds.
    static func upperEdge(_ bin: Int) -> Double { smallest * pow(growth, Double(bin)) }

    func record(seconds: Double, at date: Date = Date()) {
        let now = Int(date.timeIntervalSince1970.rounded(.down))
        let slot = now % Self.seconds
        let bin = Self.bin(seconds)
        lock.withLock {
            total += 1
            if second[slot] != now {
                second[slot] = now
                for index in (slot * Self.bins)..<((slot + 1) * Self.bins) { counts[index] = 0 }
            }
            counts[slot * Self.bins + bin] += 1
        }
    }

    var requests: Int { lock.withLock { total } }

    /// Requests in the last minute, and their p50 and p99 in milliseconds (a bin's upper edge).
    func lastMinute(now: Date = Date()) -> (count: Int, p50: Double?, p99: Double?) {
        let current = Int(now.timeIntervalSince1970.rounded(.down))
        var histogram = [Int](repeating: 0, count: Self.bins)
        lock.withLock {
            for slot in 0..<Self.seconds where second[slot] > current - Self.seconds && second[slot] <= current {
                for bin in 0..<Self.bins { histogram[bin] += Int(counts[slot * Self.bins + bin]) }
            }
        }
        let count = histogram.reduce(0, +)
        guard count > 0 else { return (0, nil, nil) }
        func quantile(_ q: Double) -> Double {
            let rank = min(count - 1, Int(q * Double(count)))
            var seen = 0
            for (bin, inBin) in histogram.enumerated() {
                seen += inBin
                if seen > rank { return Self.upperEdge(bin) * 1000 }
            }
            return Self.upperEdge(Self.bins - 1) * 1000
        }
        return (count, quantile(0.5), quantile(0.99))
    }

    func note(_ text: String) {
        let line = ISO8601DateFormatter().string(from: Date()) + " " + text
        lock.withLock {
            recent.append(line)
            if recent.count > 50 { recent.removeFirst(recent.count - 50) }
        }
    }

    var events: [String] { lock.withLock { recent } }
}
