import Foundation
import MetaRecModels
import MetaRecStore

/// Options of the running service.
public struct ServiceOptions: Sendable {
    /// The most recently touched items a user is adapted to (a re-rated item counts once, at
    /// its latest value).
    public var adaptationWindow = 100
    /// Record served recommendations as impressions. Off by default: an impression is not used
    /// in adaptation (a list that was shown is weak, position-biased evidence that its items were
    /// seen, and re-adapting a user on every read would double the cost of a recommendation), so
    /// storing one is only worth it for offline study.
    public var recordImpressions = false
    /// Largest request body, in bytes (413 beyond).
    public var maximumBodyBytes = 1 << 20
    /// Most feedback rows in one batch (413 beyond).
    public var maximumBatch = 1000
    /// Largest `k` of recommendations and questions.
    public var maximumCount = 1000
    /// Reads need a token too (the admin token, or a session for that user's own reads).
    public var protectReads = false
    /// How often a process asks the store for catalogue changes and a newly published model:
    /// a change made through another process is served here at most this late (plus the time
    /// to load a new model, which happens beside serving).
    public var refreshInterval: Duration = .seconds(1)
    public init() {}
}

/// The service's behaviour, independent of HTTP: users, feedback, recommendations and items over
/// a ``Recommender`` and a ``RecommendationStore``.
///
/// The store is the one truth, so several processes can serve one store: a user's adapted state
/// is read from the store and served only if it reflects their whole log under the model version
/// that answers (else it is adapted again from the log); items added, hidden flags and new-item
/// observations reach every process through the store's catalogue log (``ServiceOptions/refreshInterval``);
/// a newly published model is loaded beside serving and swapped in when ready. A feedback batch is
/// validated whole, adapted, and then written with the adapted states in one transaction.
public final class RecommendationService: Sendable {
    /// What a read needs of one user.
    struct UserSnapshot: Sendable {
        var features: [String: FeatureValue]
        var createdAt: Date
        var rated: Set<String>
        var feedbackCount: Int
        var state: Recommender.AdaptedState?
    }

    public let store: any RecommendationStore
    public let options: ServiceOptions
    let live: LiveModel
    /// The key session tokens are signed with, shared by every process through the store.
    let sessionKey: Data
    let locks = KeyedLock()
    let monitor = Monitor()

    /// The model that answers now (a snapshot: a request that holds it finishes on it).
    public var recommender: Recommender { live.recommender }

    /// Serves `recommender`'s model, or the store's published version if there is one: the first
    /// process to start on an empty store publishes its model (`bundleBytes`, the file it was read
    /// from, so the version is that file's hash; else the bundle serialised again), later ones
    /// follow the store.
    public init(
        recommender: Recommender, store: any RecommendationStore, options: ServiceOptions = .init(),
        bundleBytes: Data? = nil
    ) async throws {
        self.store = store
        self.options = options
        var serving = recommender
        if let published = try await store.currentModel() {
            if published.id != recommender.bundle.version {
                serving = try await Self.load(published.id, from: store)
                monitor.note("serving the store's published version \(published.id.prefix(12))")
            }
        } else {
            _ = try await store.publishModel(try bundleBytes ?? recommender.bundle.serialized(), note: "first serve")
        }
        sessionKey = try await store.sharedSecret(name: "session-signing-key")
        live = LiveModel(recommender: serving, store: store, interval: options.refreshInterval, monitor: monitor)
        try await live.refresh(force: true)
    }

    /// Catches up with the store (catalogue changes, a newly published model) when the refresh
    /// interval has passed, or now when `force`d.
    public func synchronise(force: Bool = false) async throws {
        try await live.refresh(force: force)
    }

    static func load(_ version: String, from store: any RecommendationStore) async throws -> Recommender {
        guard let bytes = try await store.modelBytes(id: version) else {
            throw StoreError("the published model \(version) has no bytes in the store")
        }
        return try Recommender(
            bundle: ModelBundle(bytes: bytes, source: URL(fileURLWithPath: "store:model/\(version.prefix(12))")))
    }

    // MARK: - Users

    /// One store round trip (``RecommendationStore/userReading(_:)``) when the stored state is
    /// current, as it is for every user whose last batch this version adapted.
    func user(_ id: String) async throws -> UserSnapshot? {
        let recommender = self.recommender
        guard let reading = try await store.userReading(id) else { return nil }
        let features = try decodeFeatures(reading.user.features)
        var state: Recommender.AdaptedState?
        if reading.feedbackHead > 0 {
            if let stored = reading.state, stored.modelVersion == recommender.bundle.version,
                stored.lastSequence == reading.feedbackHead
            {
                state = Recommender.AdaptedState(values: stored.values)
            } else {
                state = try await currentState(user: id, features: features, recommender: recommender)
            }
        }
        return UserSnapshot(
            features: features, createdAt: reading.user.createdAt, rated: reading.rated,
            feedbackCount: reading.user.feedbackCount, state: state)
    }

    /// The user's state under the answering version at their log's head: the stored one when it
    /// is that, else adapted again from the log and saved (compare-and-set: never over a newer one).
    private func currentState(user id: String, features: [String: FeatureValue], recommender: Recommender)
        async throws -> Recommender.AdaptedState?
    {
        let head = try await store.feedbackHead(user: id)
        guard head > 0 else { return nil }
        if let stored = try await store.adaptedState(user: id), stored.modelVersion == recommender.bundle.version,
            stored.lastSequence == head
        {
            return Recommender.AdaptedState(values: stored.values)
        }
        let adapted = try await adaptFromLog(user: id, features: features, recommender: recommender)
        try await store.saveAdaptedState(adapted.stored, user: id)
        return adapted.state
    }

    func putUser(_ id: String, features: [String: FeatureValue]) async throws -> UserSnapshot {
        _ = try recommender.userBatch(features)  // validates names and types before anything is stored
        return try await locks.withLocks([id]) {
            let recommender = self.recommender
            let createdAt = try await self.store.user(id)?.createdAt ?? Date()
            try await self.store.saveUser(
                StoredUser(id: id, features: try JSONEncoder().encode(features), createdAt: createdAt))
            if try await self.store.feedbackHead(user: id) > 0 {  // features changed: the prior changed too
                let adapted = try await self.adaptFromLog(user: id, features: features, recommender: recommender)
                try await self.store.saveAdaptedState(adapted.stored, user: id)
            }
            guard let snapshot = try await self.user(id) else {
                throw StoreError("user '\(id)' vanished while being saved")
            }
            return snapshot
        }
    }

    func deleteUser(_ id: String) async throws -> Bool {
        try await locks.withLocks([id]) { try await self.store.deleteUser(id) }
    }

    // MARK: - Feedback

    /// Why a feedback batch is refused before anything is written.
    struct FeedbackRefusal: Error {
        enum Kind { case unknownItem, hiddenItem, badValue, keyReused }
        var kind: Kind
        var message: String
    }

    /// What became of a batch: stored now, or the first answer to the same request.
    enum FeedbackOutcome: Equatable {
        case stored
        case replayed(Data)
    }

    /// Validates the whole batch (items known and not hidden, values the model reads), adapts
    /// every user it names to their latest value per item plus this batch, and writes the rows,
    /// the states and the idempotency record in one transaction: all or nothing.
    func addFeedback(_ entries: [StoredFeedback], idempotency: IdempotentWrite? = nil) async throws
        -> FeedbackOutcome
    {
        let recommender = self.recommender
        let scale = recommender.bundle.description.feedback
        for (index, entry) in entries.enumerated() {
            guard let item = recommender.item(entry.item) else {
                throw FeedbackRefusal(
                    kind: .unknownItem, message: "feedback[\(index)].item: item '\(entry.item)' is not in the catalogue"
                )
            }
            guard !item.hidden else {
                throw FeedbackRefusal(
                    kind: .hiddenItem,
                    message: "feedback[\(index)].item: item '\(entry.item)' is hidden (withdrawn from the catalogue)")
            }
            guard scale.contains(entry.value) else {
                throw FeedbackRefusal(
                    kind: .badValue,
                    message:
                        "feedback[\(index)].value: \(entry.value) is not one this model reads; expected \(scale.expected)"
                )
            }
        }
        let users = Set(entries.map(\.user))
        return try await locks.withLocks(users) {
            var states: [String: AdaptedFromBatch] = [:]
            var observations: [CatalogueChange] = []
            for user in users.sorted() {
                let start = ContinuousClock.now
                let features = try await self.store.user(user).map { try self.decodeFeatures($0.features) } ?? [:]
                let head = try await self.store.feedbackHead(user: user)
                let stored = try await self.store.latestFeedback(user: user, limit: self.options.adaptationWindow)
                let batch = Self.latestPerItem(entries.filter { $0.user == user })
                let batchItems = Set(batch.map(\.item))
                let window = (stored.filter { !batchItems.contains($0.item) } + batch).suffix(
                    self.options.adaptationWindow)
                let known = window.filter { recommender.item($0.item) != nil }.map { ($0.item, $0.value) }
                if recommender.hasUncertainty, batch.contains(where: { recommender.item($0.item)?.addedAt != nil }) {
                    // The user as they were before this batch, so a rating does not count twice.
                    let before = try await self.currentState(user: user, features: features, recommender: recommender)
                    for observation in try recommender.newItemObservations(
                        userFeatures: features, state: before, feedback: batch.map { ($0.item, $0.value) })
                    {
                        observations.append(
                            CatalogueChange(
                                kind: .observation, item: observation.item,
                                modelVersion: recommender.bundle.version,
                                payload: Float32Bytes.encode(observation.values)))
                    }
                }
                let state = try recommender.adapt(userFeatures: features, feedback: known)
                states[user] = AdaptedFromBatch(
                    basedOn: head, modelVersion: recommender.bundle.version, values: state.values)
                self.monitor.note(
                    "adapted user \(user) to \(known.count) items in \(Self.milliseconds(since: start)) ms")
            }
            let outcome = try await self.store.append(
                FeedbackBatch(rows: entries, idempotency: idempotency, states: states, catalogue: observations))
            switch outcome {
            case .stored:
                if !observations.isEmpty { try await self.live.refresh(force: true) }
                return .stored
            case .replayed(let response):
                return .replayed(response)
            case .keyReused:
                throw FeedbackRefusal(
                    kind: .keyReused,
                    message: "Idempotency-Key: this key was used before for a different request; use a new key")
            }
        }
    }

    /// The last row of each item, in order of arrival (a batch that rates an item twice keeps
    /// the later value).
    static func latestPerItem(_ rows: [StoredFeedback]) -> [StoredFeedback] {
        var last: [String: Int] = [:]
        for (index, row) in rows.enumerated() { last[row.item] = index }
        return rows.enumerated().filter { last[$0.element.item] == $0.offset }.map(\.element)
    }

    /// The user's adapted part from their latest value per item, at the log's head when read.
    private func adaptFromLog(user: String, features: [String: FeatureValue], recommender: Recommender)
        async throws -> (state: Recommender.AdaptedState, stored: StoredState)
    {
        let latest = try await store.latestFeedback(user: user, limit: options.adaptationWindow)
        let known = latest.filter { recommender.item($0.item) != nil }
        let state = try recommender.adapt(userFeatures: features, feedback: known.map { ($0.item, $0.value) })
        let stored = StoredState(
            modelVersion: recommender.bundle.version, lastSequence: latest.last?.sequence ?? 0, values: state.values)
        return (state, stored)
    }

    // MARK: - Reading

    func recommendations(
        user id: String, count: Int, includeSeen: Bool, candidates: [String]?, category: String?,
        exploration: ExplorationPolicy = .greedy
    ) async throws -> [Recommender.Scored] {
        let recommender = self.recommender
        let entry = try await user(id)
        let result = try recommender.recommend(
            userFeatures: entry?.features ?? [:], state: entry?.state, count: count,
            excluding: includeSeen ? [] : entry?.rated ?? [], candidates: candidates, category: category,
            exploration: exploration)
        if options.recordImpressions, entry != nil {
            try await store.recordImpressions(user: id, items: result.map(\.id), at: Date())
        }
        return result
    }

    func questions(user id: String, count: Int) async throws -> [Recommender.Item] {
        let recommender = self.recommender
        let entry = try await user(id)
        return try recommender.questions(count: count, state: entry?.state, excluding: entry?.rated ?? []).map(\.item)
    }

    // MARK: - Items

    /// What became of a request to add an item.
    enum ItemAddition {
        case added(Recommender.Item)
        /// The same item (id, title and features) was added before: a retried request.
        case existing(Recommender.Item)
    }

    /// Adds an item unless one with this id exists; a retry of the same addition (same title and
    /// features) is answered with the item, a different one is a conflict. The catalogue is read
    /// from the store first, so an item another replica added counts as existing.
    func addItemOnce(id: String, title: String, features: [String: FeatureValue]) async throws -> ItemAddition? {
        try await live.refresh(force: true)
        if let existing = recommender.item(id) { return Self.sameItem(existing, title: title, features: features) }
        try recommender.validateItem(features: features)
        let data = try JSONEncoder().encode(features)
        let added = try await store.addItem(StoredItem(id: id, title: title, features: data, addedAt: Date()))
        try await live.refresh(force: true)
        guard let item = recommender.item(id) else {
            throw StoreError("item '\(id)' was stored but could not be added to the catalogue")
        }
        // Another process added this id between the look and the write: its item stands.
        guard added != nil else { return Self.sameItem(item, title: title, features: features) }
        monitor.note("added item \(id)")
        return .added(item)
    }

    /// A request for an id already in the catalogue: a retry of it, or a conflict (nil).
    private static func sameItem(
        _ item: Recommender.Item, title: String, features: [String: FeatureValue]
    ) -> ItemAddition? {
        item.title == title && item.features == features ? .existing(item) : nil
    }

    /// Adds an item for every process: validated here, written to the store, then applied from
    /// the store's log like anyone else's change. An id already taken by another item is refused.
    func addItem(id: String, title: String, features: [String: FeatureValue]) async throws -> Recommender.Item {
        switch try await addItemOnce(id: id, title: title, features: features) {
        case .added(let item), .existing(let item): return item
        case nil: throw StoreError("item '\(id)' already exists with another title or features")
        }
    }

    func setHidden(item id: String, _ hidden: Bool) async throws -> Recommender.Item? {
        guard recommender.item(id) != nil else { return nil }
        _ = try await store.setHidden(item: id, hidden)
        try await live.refresh(force: true)
        return recommender.item(id)
    }

    private func decodeFeatures(_ data: Data) throws -> [String: FeatureValue] {
        try JSONDecoder().decode([String: FeatureValue].self, from: data)
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return String(format: "%.1f", seconds * 1000)
    }
}
