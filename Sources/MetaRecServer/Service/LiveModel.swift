import Foundation
import MetaRecModels
import MetaRecStore

/// The model this process answers with, kept in step with the store: catalogue changes (items
/// added, hidden and shown, observations of new items) applied in the log's order, and a newly
/// published version loaded beside serving and swapped in once it is ready, so no request waits
/// for a load or fails during one. Requests read ``recommender`` without waiting; ``refresh(force:)``
/// runs one catch-up at a time.
final class LiveModel: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Recommender
    /// The last catalogue change applied to `current`.
    private var applied: Int64 = 0
    private var lastCheck: ContinuousClock.Instant?
    /// The version being loaded, or refused (so a bad publish is not retried on every refresh).
    private var pending: String?
    private let refreshing = AsyncSerialGate()

    let store: any RecommendationStore
    let interval: Duration
    let monitor: Monitor

    init(recommender: Recommender, store: any RecommendationStore, interval: Duration, monitor: Monitor) {
        current = recommender
        self.store = store
        self.interval = interval
        self.monitor = monitor
    }

    var recommender: Recommender { lock.withLock { current } }

    /// Catches up with the store when the interval has passed (or now, when `force`d: after this
    /// process's own write, so it reads it back at once).
    func refresh(force: Bool) async throws {
        if !force {
            let now = ContinuousClock.now
            let due = lock.withLock { () -> Bool in
                guard let lastCheck, now - lastCheck < interval else {
                    lastCheck = now
                    return true
                }
                return false
            }
            guard due else { return }
        }
        try await refreshing.run {
            try await self.catchUp()
            if let published = try await self.store.currentModel() {
                let start = self.lock.withLock { () -> Bool in
                    guard published.id != self.current.bundle.version, published.id != self.pending else {
                        return false
                    }
                    self.pending = published.id
                    return true
                }
                if start { Task { await self.load(published.id) } }
            }
        }
    }

    /// Applies every catalogue change after the last one applied.
    private func catchUp() async throws {
        while true {
            let (recommender, after) = lock.withLock { (current, applied) }
            let changes = try await store.catalogueChanges(after: after, limit: 1000)
            for change in changes { apply(change, to: recommender) }
            lock.withLock {
                // A swap in between replayed the log itself: keep its position.
                if current === recommender, let last = changes.last { applied = last.sequence }
            }
            if changes.count < 1000 { return }
        }
    }

    /// Loads a published version, replays the catalogue log onto it, and swaps it in.
    private func load(_ version: String) async {
        let start = ContinuousClock.now
        do {
            let next = try await RecommendationService.load(version, from: store)
            var position: Int64 = 0
            while true {
                let changes = try await store.catalogueChanges(after: position, limit: 1000)
                for change in changes { apply(change, to: next) }
                position = changes.last?.sequence ?? position
                if changes.count < 1000 { break }
            }
            let replayed = position
            try await refreshing.run {
                // Changes that arrived during the load, then the swap, with no refresh between.
                let position = replayed
                let changes = try await self.store.catalogueChanges(after: position, limit: Int.max >> 1)
                for change in changes { self.apply(change, to: next) }
                self.lock.withLock {
                    self.current = next
                    self.applied = changes.last?.sequence ?? position
                    self.pending = nil
                }
            }
            monitor.note(
                "now serving model \(version.prefix(12)) (loaded in \(RecommendationService.milliseconds(since: start)) ms)"
            )
        } catch {
            monitor.note("published model \(version.prefix(12)) refused, still serving the previous one: \(error)")
        }
    }

    /// One change; a change this model cannot take (bad features, another version's observation)
    /// is skipped with a note, never a crash: the log is shared with other versions and processes.
    private func apply(_ change: CatalogueChange, to recommender: Recommender) {
        do {
            switch change.kind {
            case .added:
                let item = try change.addedItem()
                guard recommender.item(item.id) == nil else { return }
                let features = try JSONDecoder().decode([String: FeatureValue].self, from: item.features)
                _ = try recommender.addItem(id: item.id, title: item.title, features: features, addedAt: item.addedAt)
            case .hidden, .shown:
                _ = recommender.setHidden(change.item, change.kind == .hidden)
            case .observation:
                guard change.modelVersion == recommender.bundle.version else { return }
                guard let values = Float32Bytes.decode(change.payload) else {
                    throw StoreError("an observation of \(change.payload.count) bytes is not a list of floats")
                }
                recommender.apply(Recommender.NewItemObservation(item: change.item, values: values))
            }
        } catch {
            monitor.note(
                "catalogue change \(change.sequence) (\(change.kind.rawValue) \(change.item)) skipped: \(error)")
        }
    }
}

/// Runs async bodies one at a time, in arrival order.
actor AsyncSerialGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }
}
