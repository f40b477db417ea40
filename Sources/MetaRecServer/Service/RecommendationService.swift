import Foundation
import MetaRecModels
import MetaRecStore

/// Options of the running service.
public struct ServiceOptions: Sendable {
    /// The most recent feedback rows a user is adapted to.
    public var adaptationWindow = 100
    /// Record served recommendations as impressions (nil: on for click data, off for ratings).
    public var recordImpressions: Bool?
    /// Largest request body, in bytes (413 beyond).
    public var maximumBodyBytes = 1 << 20
    /// Most feedback rows in one batch (413 beyond).
    public var maximumBatch = 1000
    /// Largest `k` of recommendations and questions.
    public var maximumCount = 1000
    /// Reads need a token too (the admin token, or a session for that user's own reads).
    public var protectReads = false
    public init() {}
}

/// The service's behaviour, independent of HTTP: users, feedback, recommendations and items over
/// a ``Recommender`` and a ``RecommendationStore``. Work for one user is serialised (``KeyedLock``);
/// each feedback batch is durable before it is acknowledged, then the users it names are
/// re-adapted from their stored feedback, so a recommendation read costs one scoring pass.
public final class RecommendationService: Sendable {
    /// What the service keeps in memory per user (filled from the store on first use).
    struct UserCache: Sendable {
        var features: [String: FeatureValue]
        var createdAt: Date
        var rated: Set<String>
        var feedbackCount: Int
        var state: Recommender.AdaptedState?
    }

    public let recommender: Recommender
    public let store: any RecommendationStore
    public let options: ServiceOptions
    let locks = KeyedLock()
    let cache = Cache()
    let monitor = Monitor()

    /// Loads the items added in earlier runs and which items are hidden.
    public init(recommender: Recommender, store: any RecommendationStore, options: ServiceOptions = .init())
        async throws
    {
        self.recommender = recommender
        self.store = store
        self.options = options
        for item in try await store.addedItems() where recommender.item(item.id) == nil {
            let features = (try? JSONDecoder().decode([String: FeatureValue].self, from: item.features)) ?? [:]
            try recommender.addItem(id: item.id, title: item.title, features: features, addedAt: item.addedAt)
        }
        for id in try await store.hiddenItems() { recommender.setHidden(id, true) }
    }

    var recordsImpressions: Bool { options.recordImpressions ?? (recommender.objective == .click) }

    // MARK: - Users

    func user(_ id: String) async throws -> UserCache? {
        if let cached = await cache.get(id) { return cached }
        guard let stored = try await store.user(id) else { return nil }
        let features = try decodeFeatures(stored.features)
        var entry = UserCache(
            features: features, createdAt: stored.createdAt, rated: try await store.ratedItems(user: id),
            feedbackCount: stored.feedbackCount, state: nil)
        if let state = try await store.adaptedState(user: id), state.modelVersion == recommender.bundle.version {
            entry.state = Recommender.AdaptedState(values: state.values)
        } else if stored.feedbackCount > 0 {
            entry.state = try await adaptedState(user: id, features: features).state  // stale or missing: adapt again
        }
        await cache.set(id, entry)
        return entry
    }

    func putUser(_ id: String, features: [String: FeatureValue]) async throws -> UserCache {
        _ = try recommender.userBatch(features)  // validates names and types before anything is stored
        return try await locks.withLocks([id]) {
            let existing = try await self.user(id)
            let createdAt = existing?.createdAt ?? Date()
            try await self.store.saveUser(
                StoredUser(id: id, features: try JSONEncoder().encode(features), createdAt: createdAt))
            await self.cache.remove(id)
            guard var entry = try await self.user(id) else {
                throw StoreError("user '\(id)' vanished while being saved")
            }
            if entry.feedbackCount > 0 {  // features changed: the prior changed too
                let adapted = try await self.adaptedState(user: id, features: features)
                try await self.store.saveAdaptedState(adapted.stored, user: id)
                entry.state = adapted.state
                await self.cache.set(id, entry)
            }
            return entry
        }
    }

    func deleteUser(_ id: String) async throws -> Bool {
        try await locks.withLocks([id]) {
            await self.cache.remove(id)
            return try await self.store.deleteUser(id)
        }
    }

    // MARK: - Feedback

    /// Stores the batch (all or nothing), then re-adapts every user it names.
    func addFeedback(_ entries: [StoredFeedback]) async throws {
        for entry in entries {
            guard recommender.item(entry.item) != nil else {
                throw RecommenderError(.unknownItem, "item '\(entry.item)' is not in the catalogue")
            }
        }
        let users = Set(entries.map(\.user))
        try await locks.withLocks(users) {
            try await self.store.append(entries)
            for user in users.sorted() {
                let start = Date()
                let rows = entries.filter { $0.user == user }
                var entry: UserCache
                if var cached = await self.cache.get(user) {
                    cached.rated.formUnion(rows.map(\.item))
                    cached.feedbackCount += rows.count
                    entry = cached
                } else {
                    guard let stored = try await self.store.user(user) else {
                        throw StoreError("user '\(user)' was not created by the feedback batch")
                    }
                    entry = UserCache(
                        features: try self.decodeFeatures(stored.features), createdAt: stored.createdAt,
                        rated: try await self.store.ratedItems(user: user), feedbackCount: stored.feedbackCount,
                        state: nil)
                }
                try await self.observeNewItems(user: user, entry: entry, feedback: rows)
                let adapted = try await self.adaptedState(user: user, features: entry.features)
                try await self.store.saveAdaptedState(adapted.stored, user: user)
                entry.state = adapted.state
                await self.cache.set(user, entry)
                await self.monitor.event(
                    String(
                        format: "adapted user %@ to %d feedback rows in %.1f ms", user, adapted.rows,
                        Date().timeIntervalSince(start) * 1000))
            }
        }
    }

    /// Feeds the item posteriors of items added while serving (``Recommender/observeNewItems``),
    /// the user at their adapted part from before this feedback (the stored one when not cached).
    private func observeNewItems(user: String, entry: UserCache, feedback: [StoredFeedback]) async throws {
        guard recommender.hasUncertainty, feedback.contains(where: { recommender.item($0.item)?.addedAt != nil })
        else { return }
        var previous = entry.state
        if previous == nil, let stored = try await store.adaptedState(user: user),
            stored.modelVersion == recommender.bundle.version
        {
            previous = Recommender.AdaptedState(values: stored.values)
        }
        try recommender.observeNewItems(
            userFeatures: entry.features, state: previous, feedback: feedback.map { ($0.item, $0.value) })
    }

    /// The user's adapted part from their most recent feedback.
    private func adaptedState(user: String, features: [String: FeatureValue]) async throws -> (
        state: Recommender.AdaptedState, stored: StoredState, rows: Int
    ) {
        let recent = try await store.recentFeedback(user: user, limit: options.adaptationWindow)
        let known = recent.filter { recommender.item($0.item) != nil }
        let state = try recommender.adapt(userFeatures: features, feedback: known.map { ($0.item, $0.value) })
        let stored = StoredState(
            modelVersion: recommender.bundle.version, lastSequence: recent.last?.sequence ?? 0, values: state.values)
        return (state, stored, known.count)
    }

    // MARK: - Reading

    func recommendations(
        user id: String, count: Int, includeSeen: Bool, candidates: [String]?, category: String?,
        exploration: ExplorationPolicy = .greedy
    ) async throws -> [Recommender.Scored] {
        let entry = try await user(id)
        let result = try recommender.recommend(
            userFeatures: entry?.features ?? [:], state: entry?.state, count: count,
            excluding: includeSeen ? [] : entry?.rated ?? [], candidates: candidates, category: category,
            exploration: exploration)
        if recordsImpressions, entry != nil {
            try await store.recordImpressions(user: id, items: result.map(\.id), at: Date())
        }
        return result
    }

    func questions(user id: String, count: Int) async throws -> [Recommender.Item] {
        let entry = try await user(id)
        return try recommender.questions(count: count, state: entry?.state, excluding: entry?.rated ?? []).map(\.item)
    }

    // MARK: - Items

    func addItem(id: String, title: String, features: [String: FeatureValue]) async throws -> Recommender.Item {
        let data = try JSONEncoder().encode(features)
        let item = try recommender.addItem(id: id, title: title, features: features)
        do {
            try await store.saveItem(StoredItem(id: id, title: title, features: data, addedAt: item.addedAt ?? Date()))
        } catch {
            recommender.setHidden(id, true)  // not durable: never recommend it
            throw error
        }
        await monitor.event("added item \(id)")
        return item
    }

    func setHidden(item id: String, _ hidden: Bool) async throws -> Recommender.Item? {
        guard recommender.item(id) != nil else { return nil }
        try await store.setHidden(item: id, hidden)
        return recommender.setHidden(id, hidden)
    }

    private func decodeFeatures(_ data: Data) throws -> [String: FeatureValue] {
        try JSONDecoder().decode([String: FeatureValue].self, from: data)
    }
}

extension RecommendationService {
    /// Users' cached state.
    actor Cache {
        private var users: [String: UserCache] = [:]
        func get(_ id: String) -> UserCache? { users[id] }
        func set(_ id: String, _ entry: UserCache) { users[id] = entry }
        func remove(_ id: String) { users[id] = nil }
    }

    /// Request latencies of the last minute and recent events, for the admin status.
    actor Monitor {
        private var samples: [(at: Date, seconds: Double)] = []
        private(set) var requests = 0
        private(set) var events: [String] = []

        func record(seconds: Double, at date: Date = Date()) {
            requests += 1
            samples.append((date, seconds))
            if samples.count > 256, let first = samples.first, date.timeIntervalSince(first.at) > 60 {
                samples.removeAll { date.timeIntervalSince($0.at) > 60 }
            }
        }

        /// Requests in the last minute, and their p50 and p99 in milliseconds.
        func lastMinute(now: Date = Date()) -> (count: Int, p50: Double?, p99: Double?) {
            let recent = samples.filter { now.timeIntervalSince($0.at) <= 60 }.map(\.seconds).sorted()
            guard !recent.isEmpty else { return (0, nil, nil) }
            func quantile(_ q: Double) -> Double { recent[min(recent.count - 1, Int(q * Double(recent.count)))] * 1000 }
            return (recent.count, quantile(0.5), quantile(0.99))
        }

        func event(_ text: String) {
            events.append(ISO8601DateFormatter().string(from: Date()) + " " + text)
            if events.count > 50 { events.removeFirst(events.count - 50) }
        }
    }
}
