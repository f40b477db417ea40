import Foundation

/// Request latencies of the last minute and recent events, for the admin status. A lock, not an
/// actor: recording is on every request's path and must not queue behind a reader.
final class Monitor: @unchecked Sendable {
    private let lock = NSLock()
    /// A ring of the most recent samples: the status reads at most this many.
    private var samples: [(at: Date, seconds: Double)] = []
    private var next = 0
    private static let capacity = 4096
    private var total = 0
    private var recent: [String] = []

    func record(seconds: Double, at date: Date = Date()) {
        lock.withLock {
            total += 1
            if samples.count < Self.capacity {
                samples.append((date, seconds))
            } else {
                samples[next] = (date, seconds)
                next = (next + 1) % Self.capacity
            }
        }
    }

    var requests: Int { lock.withLock { total } }

    /// Requests in the last minute (of the most recent 4,096), and their p50 and p99 in milliseconds.
    func lastMinute(now: Date = Date()) -> (count: Int, p50: Double?, p99: Double?) {
        let recent = lock.withLock { samples }.filter { now.timeIntervalSince($0.at) <= 60 }.map(\.seconds).sorted()
        guard !recent.isEmpty else { return (0, nil, nil) }
        func quantile(_ q: Double) -> Double { recent[min(recent.count - 1, Int(q * Double(recent.count)))] * 1000 }
        return (recent.count, quantile(0.5), quantile(0.99))
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
