/// Mutual exclusion per key (per user): work for one user runs one at a time, in arrival order,
/// while work for different users runs concurrently. Two feedback batches for the same user
/// therefore both reach the adapted state, and the service is not serialised globally.
actor KeyedLock {
    private var holders: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Runs `body` holding the locks of every key in `keys` (taken in sorted order, so two
    /// batches naming the same users cannot deadlock).
    nonisolated func withLocks<T: Sendable>(_ keys: Set<String>, _ body: @Sendable () async throws -> T) async throws
        -> T
    {
        let ordered = keys.sorted()
        for key in ordered { await acquire(key) }
        do {
            let result = try await body()
            for key in ordered.reversed() { await release(key) }
            return result
        } catch {
            for key in ordered.reversed() { await release(key) }
            throw error
        }
    }

    private func acquire(_ key: String) async {
        if holders[key] == nil {
            holders[key] = []
            return
        }
        await withCheckedContinuation { holders[key]!.append($0) }
    }

    private func release(_ key: String) {
        guard var waiting = holders[key] else { return }
        if waiting.isEmpty {
            holders[key] = nil
        } else {
            let next = waiting.removeFirst()
            holders[key] = waiting
            next.resume()
        }
    }
}
