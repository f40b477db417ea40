import Dispatch
import Foundation

/// Data parallelism over the machine's cores for work whose parts touch disjoint state (the
/// tasks of a meta-batch, the tasks of an evaluation).
public enum Parallel {
    /// Workers for data-parallel work: the machine's active cores.
    public static var defaultWorkers: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Runs `body(worker)` for every worker in `0..<workers` at once and returns when all are
    /// done. The caller guarantees the workers write disjoint memory.
    public static func run(workers: Int, _ body: (Int) -> Void) {
        guard workers > 1 else {
            if workers == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let shared = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { shared.value($0) }
        }
    }

    /// `transform` applied to every element, computed on `workers` threads in an interleaved
    /// order, results in input order.
    public static func map<T, R>(_ items: [T], workers: Int, _ transform: (T) -> R) -> [R] {
        let count = items.count
        guard count > 0 else { return [] }
        let workers = max(1, min(workers, count))
        var results = [R?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            let out = UncheckedSendable(buffer.baseAddress!)
            run(workers: workers) { worker in
                for index in stride(from: worker, to: count, by: workers) {
                    (out.value + index).pointee = transform(items[index])
                }
            }
        }
        return results.map { $0! }
    }
}

/// A value passed across threads whose safety the caller establishes.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
