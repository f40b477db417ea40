import Foundation
import Logging
import MetaRecStore
import PostgresNIO

/// The store on PostgreSQL 15, for several serving processes sharing one database. Every call
/// is one statement or one transaction on a pooled connection (``PostgresClient``); nothing is
/// kept in this process's memory.
///
/// How the protocol's guarantees are kept across processes:
/// - A feedback batch locks the rows of the users it names (`SELECT ... FOR UPDATE`, in id order
///   so two batches cannot deadlock) before drawing sequence numbers, so one user's rows commit
///   in sequence order and the head read under the lock is exact: a state is saved only if that
///   head is the `basedOn` the service adapted from.
/// - Catalogue changes and model publications take a transaction-scoped advisory lock before
///   drawing their sequence, so they commit in sequence order and a poller reading `after: n`
///   can never later see a change numbered below what it already read.
/// - Migrations run under `pg_advisory_xact_lock`, so two processes starting at once do not race.
///
/// Connection failures, time-outs and transient server errors surface as
/// `StoreError(kind: .unavailable)`; the password is never part of a message.
public final class PostgresStore: RecommendationStore {
    public let configuration: Configuration
    private let client: PostgresClient
    /// Runs the client's pool; cancelled by ``close()``.
    private let runner: Task<Void, Never>

    /// Connects, then brings the tables up to date (the `schema_migrations` table records which
    /// versions ran).
    public init(configuration: Configuration) async throws {
        self.configuration = configuration
        var settings = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: Self.tls(configuration.tls))
        settings.options.connectTimeout = configuration.connectTimeout
        settings.options.maximumConnections = max(1, configuration.maximumConnections)
        if let schema = configuration.schema {
            // Every pooled connection starts with the schema first on its search path.
            settings.options.additionalStartupParameters = [("search_path", schema)]
        }
        // One direct connection first: the pool would keep retrying a refused connection or a
        // wrong password for a minute, this says at once what is wrong.
        try await Self.probe(configuration)
        let client = PostgresClient(configuration: settings)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await migrate()
        } catch {
            runner.cancel()
            await runner.value
            throw error
        }
    }

    /// Opens `postgres://user@host:port/database` (see ``Configuration/init(url:password:)``).
    public convenience init(url: String, password: String?) async throws {
        try await self.init(configuration: Configuration(url: url, password: password))
    }

    public func close() async throws {
        runner.cancel()
        await runner.value
    }

    // MARK: - Users

    public func user(_ id: String) async throws -> StoredUser? {
        try await perform("read user", transaction: false) { connection in
            let rows = try await connection.rows(
                """
                SELECT u.features, u.created_at, (SELECT count(*) FROM feedback f WHERE f.user_id = u.id)
                FROM users u WHERE u.id = \(id)
                """)
            guard let row = rows.first else { return nil }
            let (features, createdAt, count) = try row.decode((Data, Double, Int64).self)
            return StoredUser(
                id: id, features: features, createdAt: Date(timeIntervalSince1970: createdAt),
                feedbackCount: Int(count))
        }
    }

    public func saveUser(_ user: StoredUser) async throws {
        try await perform("save user", transaction: false) { connection in
            try await connection.run(
                """
                INSERT INTO users (id, features, created_at) VALUES (\(user.id), \(user.features), \(user.createdAt.timeIntervalSince1970))
                ON CONFLICT (id) DO UPDATE SET features = excluded.features
                """)
        }
    }

    public func deleteUser(_ id: String) async throws -> Bool {
        try await perform("delete user", transaction: true) { connection in
            // Deleting the users row first takes its lock, so a concurrent batch for this user
            // either commits before (and is deleted here) or starts after (and creates them anew).
            let user = try await connection.rows("DELETE FROM users WHERE id = \(id) RETURNING 1")
            let feedback = try await connection.rows("DELETE FROM feedback WHERE user_id = \(id) RETURNING 1")
            try await connection.run("DELETE FROM adapted_state WHERE user_id = \(id)")
            try await connection.run("DELETE FROM impressions WHERE user_id = \(id)")
            return !user.isEmpty || !feedback.isEmpty
        }
    }

    // MARK: - Feedback

    public func append(_ batch: FeedbackBatch) async throws -> AppendOutcome {
        // Sorted, so that every batch creates and locks users in one order (no deadlocks). A
        // state is saved only for a user with rows in the batch (as SQLiteStore does).
        let users = Set(batch.rows.map(\.user)).sorted()
        let now = Date().timeIntervalSince1970
        return try await perform("append feedback", transaction: true) { connection -> AppendOutcome in
            if let write = batch.idempotency {
                // A concurrent transaction holding the same key makes this insert wait for it.
                let claimed = try await connection.rows(
                    """
                    INSERT INTO idempotency (key, request_digest, response, created_at)
                    VALUES (\(write.key), \(write.requestDigest), \(write.response), \(now))
                    ON CONFLICT (key) DO NOTHING RETURNING 1
                    """)
                if claimed.isEmpty {
                    let rows = try await connection.rows(
                        "SELECT request_digest, response FROM idempotency WHERE key = \(write.key)")
                    guard let row = rows.first else {
                        throw StoreError("idempotency key conflicted but its record is gone", kind: .unavailable)
                    }
                    let (digest, response) = try row.decode((String, Data).self)
                    return digest == write.requestDigest ? .replayed(response: response) : .keyReused
                }
            }
            try await connection.run(
                """
                INSERT INTO users (id, features, created_at)
                SELECT id, \(Data("{}".utf8)), \(now) FROM unnest(\(users)::text[]) WITH ORDINALITY AS u (id, n)
                ORDER BY n ON CONFLICT (id) DO NOTHING
                """)
            try await connection.run("SELECT id FROM users WHERE id = ANY(\(users)::text[]) ORDER BY id FOR UPDATE")
            var heads: [String: Int64] = [:]
            for row in try await connection.rows(
                """
                SELECT user_id, max(sequence) FROM feedback WHERE user_id = ANY(\(users)::text[]) GROUP BY user_id
                """)
            {
                let (user, head) = try row.decode((String, Int64).self)
                heads[user] = head
            }
            let before = heads
            if !batch.rows.isEmpty {
                // After the user locks (one order for every writer), held to the commit.
                try await Self.lock(.feedbackOrder, scope: self.scope, on: connection)
                let inserted = try await connection.rows(
                    """
                    INSERT INTO feedback (user_id, item, value, at)
                    SELECT u, i, v, t FROM unnest(\(batch.rows.map(\.user))::text[], \(batch.rows.map(\.item))::text[],
                        \(batch.rows.map(\.value))::real[], \(batch.rows.map { $0.timestamp.timeIntervalSince1970 })::float8[])
                        WITH ORDINALITY AS r (u, i, v, t, n)
                    ORDER BY n RETURNING sequence, user_id
                    """)
                for row in inserted {
                    let (sequence, user) = try row.decode((Int64, String).self)
                    heads[user] = max(heads[user] ?? 0, sequence)
                }
            }
            var saved: Set<String> = []
            for (user, state) in batch.states.sorted(by: { $0.key < $1.key })
            where (before[user] ?? 0) == state.basedOn {
                guard let head = heads[user] else { continue }
                if try await Self.compareAndSet(
                    StoredState(modelVersion: state.modelVersion, lastSequence: head, values: state.values), user: user,
                    on: connection)
                {
                    saved.insert(user)
                }
            }
            if !batch.catalogue.isEmpty {
                // After the user locks: no writer takes a user lock while holding this one.
                try await Self.lock(.catalogue, scope: self.scope, on: connection)
                for change in batch.catalogue {
                    _ = try await Self.logChange(
                        change.kind, item: change.item, modelVersion: change.modelVersion, payload: change.payload,
                        on: connection)
                }
            }
            return .stored(heads: heads, statesSaved: saved)
        }
    }

    public func feedback(after sequence: Int64, limit: Int) async throws -> [StoredFeedback] {
        guard limit > 0 else { return [] }
        return try await perform("read the feedback log", transaction: false) { connection in
            try await connection.rows(
                """
                SELECT sequence, item, value, at, user_id FROM feedback
                WHERE sequence > \(sequence) ORDER BY sequence LIMIT \(Int64(limit))
                """
            ).map { row in
                let (sequence, item, value, at, user) = try row.decode((Int64, String, Float, Double, String).self)
                return StoredFeedback(
                    user: user, item: item, value: value, timestamp: Date(timeIntervalSince1970: at), sequence: sequence
                )
            }
        }
    }

    public func tryLockLearner(owner: String, for duration: TimeInterval) async throws -> Bool {
        let now = Date().timeIntervalSince1970
        let until = now + max(0, duration)
        return try await perform("take the learner lock", transaction: true) { connection in
            !(try await connection.rows(
                """
                INSERT INTO learner_lock (id, owner, expires_at) VALUES (1, \(owner), \(until))
                ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                WHERE learner_lock.owner = excluded.owner OR learner_lock.expires_at < \(now)
                RETURNING 1
                """
            ).isEmpty)
        }
    }

    public func releaseLearner(owner: String) async throws {
        try await perform("release the learner lock", transaction: false) { connection in
            try await connection.run("DELETE FROM learner_lock WHERE owner = \(owner)")
        }
    }

    public func feedbackHead(user: String) async throws -> Int64 {
        try await perform("read feedback head", transaction: false) { connection in
            try await connection.int64(
                "SELECT coalesce(max(sequence), 0)::bigint FROM feedback WHERE user_id = \(user)")
        }
    }

    public func latestFeedback(user: String, limit: Int) async throws -> [StoredFeedback] {
        guard limit > 0 else { return [] }
        return try await perform("read latest feedback", transaction: false) { connection in
            let rows = try await connection.rows(
                """
                SELECT sequence, item, value, at FROM (
                    SELECT sequence, item, value, at,
                        row_number() OVER (PARTITION BY item ORDER BY sequence DESC) AS newest
                    FROM feedback WHERE user_id = \(user)) latest
                WHERE newest = 1 ORDER BY sequence DESC LIMIT \(Int64(limit))
                """)
            return try rows.reversed().map { try Self.feedback($0, user: user) }
        }
    }

    public func feedbackLog(user: String) async throws -> [StoredFeedback] {
        try await perform("read feedback log", transaction: false) { connection in
            try await connection.rows(
                "SELECT sequence, item, value, at FROM feedback WHERE user_id = \(user) ORDER BY sequence"
            ).map { try Self.feedback($0, user: user) }
        }
    }

    public func ratedItems(user: String) async throws -> Set<String> {
        try await perform("read rated items", transaction: false) { connection in
            Set(
                try await connection.rows("SELECT DISTINCT item FROM feedback WHERE user_id = \(user)").map {
                    try $0.decode(String.self)
                })
        }
    }

    // MARK: - Adapted state

    /// One statement, so one snapshot: the user joined with their state, and their log's items,
    /// count and head as subqueries.
    public func userReading(_ id: String) async throws -> UserReading? {
        try await perform("read user", transaction: false) { connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT u.features, u.created_at, s.model_version, s.last_sequence, s.state,
                        coalesce((SELECT array_agg(DISTINCT f.item) FROM feedback f WHERE f.user_id = u.id), '{}'::text[]),
                        (SELECT count(*) FROM feedback f WHERE f.user_id = u.id)::bigint,
                        (SELECT coalesce(max(f.sequence), 0) FROM feedback f WHERE f.user_id = u.id)::bigint
                    FROM users u LEFT JOIN adapted_state s ON s.user_id = u.id WHERE u.id = \(id)
                    """
                ).first
            else { return nil }
            let (features, createdAt, version, sequence, state, rated, count, head) = try row.decode(
                (Data, Double, String?, Int64?, Data?, [String], Int64, Int64).self)
            var stored: StoredState?
            if let version, let sequence, let state {
                stored = StoredState(modelVersion: version, lastSequence: sequence, values: try Self.floats(state))
            }
            return UserReading(
                user: StoredUser(
                    id: id, features: features, createdAt: Date(timeIntervalSince1970: createdAt),
                    feedbackCount: Int(count)),
                rated: Set(rated), feedbackHead: head, state: stored)
        }
    }

    public func adaptedState(user: String) async throws -> StoredState? {
        try await perform("read adapted state", transaction: false) { connection in
            guard
                let row = try await connection.rows(
                    "SELECT model_version, last_sequence, state FROM adapted_state WHERE user_id = \(user)"
                ).first
            else { return nil }
            let (version, sequence, state) = try row.decode((String, Int64, Data).self)
            return StoredState(modelVersion: version, lastSequence: sequence, values: try Self.floats(state))
        }
    }

    @discardableResult
    public func saveAdaptedState(_ state: StoredState, user: String) async throws -> Bool {
        try await perform("save adapted state", transaction: false) { connection in
            try await Self.compareAndSet(state, user: user, on: connection)
        }
    }

    /// Saves `state` unless the stored one is of the same version and further along the log.
    private static func compareAndSet(_ state: StoredState, user: String, on connection: PostgresConnection)
        async throws -> Bool
    {
        let rows = try await connection.rows(
            """
            INSERT INTO adapted_state AS s (user_id, model_version, last_sequence, state)
            VALUES (\(user), \(state.modelVersion), \(state.lastSequence), \(bytes(state.values)))
            ON CONFLICT (user_id) DO UPDATE SET model_version = excluded.model_version,
                last_sequence = excluded.last_sequence, state = excluded.state
            WHERE s.model_version <> excluded.model_version OR s.last_sequence <= excluded.last_sequence
            RETURNING 1
            """)
        return !rows.isEmpty
    }

    // MARK: - Catalogue

    public func addItem(_ item: StoredItem) async throws -> Int64? {
        let payload = try CatalogueChange.encode(item)
        return try await perform("add item", transaction: true) { connection in
            // Under the catalogue lock: no other process adds between the check and the insert.
            try await Self.lock(.catalogue, scope: self.scope, on: connection)
            let taken = try await connection.rows("SELECT 1 FROM items WHERE id = \(item.id)")
            guard taken.isEmpty else { return nil }
            let sequence = try await Self.logChange(
                .added, item: item.id, modelVersion: nil, payload: payload, on: connection)
            // Ordered by `added_at`, then by when it was added (as SQLiteStore's rowid does).
            try await connection.run(
                """
                INSERT INTO items (id, title, features, added_at, position)
                VALUES (\(item.id), \(item.title), \(item.features), \(item.addedAt.timeIntervalSince1970), \(sequence))
                """)
            return sequence
        }
    }

    public func addedItems() async throws -> [StoredItem] {
        try await perform("read added items", transaction: false) { connection in
            try await connection.rows("SELECT id, title, features, added_at FROM items ORDER BY added_at, position").map
            { row in
                let (id, title, features, addedAt) = try row.decode((String, String, Data, Double).self)
                return StoredItem(
                    id: id, title: title, features: features, addedAt: Date(timeIntervalSince1970: addedAt))
            }
        }
    }

    public func setHidden(item: String, _ hidden: Bool) async throws -> Int64 {
        try await perform(hidden ? "hide item" : "show item", transaction: true) { connection in
            try await Self.lock(.catalogue, scope: self.scope, on: connection)
            if hidden {
                try await connection.run("INSERT INTO hidden_items (id) VALUES (\(item)) ON CONFLICT (id) DO NOTHING")
            } else {
                try await connection.run("DELETE FROM hidden_items WHERE id = \(item)")
            }
            return try await Self.logChange(
                hidden ? .hidden : .shown, item: item, modelVersion: nil, payload: Data(), on: connection)
        }
    }

    public func hiddenItems() async throws -> Set<String> {
        try await perform("read hidden items", transaction: false) { connection in
            Set(try await connection.rows("SELECT id FROM hidden_items").map { try $0.decode(String.self) })
        }
    }

    public func recordObservation(item: String, modelVersion: String, payload: Data) async throws -> Int64 {
        try await perform("record item observation", transaction: true) { connection in
            try await Self.lock(.catalogue, scope: self.scope, on: connection)
            return try await Self.logChange(
                .observation, item: item, modelVersion: modelVersion, payload: payload, on: connection)
        }
    }

    public func catalogueChanges(after sequence: Int64, limit: Int) async throws -> [CatalogueChange] {
        guard limit > 0 else { return [] }
        return try await perform("read catalogue changes", transaction: false) { connection in
            try await connection.rows(
                """
                SELECT sequence, kind, item, model_version, payload FROM catalogue_changes
                WHERE sequence > \(sequence) ORDER BY sequence LIMIT \(Int64(limit))
                """
            ).compactMap { row in
                let (sequence, kind, item, version, payload) = try row.decode(
                    (Int64, String, String, String?, Data).self)
                // A kind a newer program wrote: this one cannot apply it (SQLiteStore skips it too).
                guard let kind = CatalogueChange.Kind(rawValue: kind) else { return nil }
                return CatalogueChange(
                    sequence: sequence, kind: kind, item: item, modelVersion: version, payload: payload)
            }
        }
    }

    public func catalogueHead() async throws -> Int64 {
        try await perform("read catalogue head", transaction: false) { connection in
            try await connection.int64("SELECT coalesce(max(sequence), 0)::bigint FROM catalogue_changes")
        }
    }

    /// Appends one change; the caller holds the catalogue lock.
    private static func logChange(
        _ kind: CatalogueChange.Kind, item: String, modelVersion: String?, payload: Data,
        on connection: PostgresConnection
    ) async throws -> Int64 {
        try await connection.int64(
            """
            INSERT INTO catalogue_changes (kind, item, model_version, payload, at)
            VALUES (\(kind.rawValue), \(item), \(modelVersion), \(payload), \(Date().timeIntervalSince1970))
            RETURNING sequence
            """)
    }

    // MARK: - Impressions

    public func recordImpressions(user: String, items: [String], at date: Date) async throws {
        guard !items.isEmpty else { return }
        try await perform("record impressions", transaction: false) { connection in
            try await connection.run(
                """
                INSERT INTO impressions (user_id, item, at)
                SELECT \(user), item, \(date.timeIntervalSince1970) FROM unnest(\(items)::text[]) AS i (item)
                """)
        }
    }

    // MARK: - Models

    public func publishModel(_ bytes: Data, note: String) async throws -> PublishedModel {
        try await perform("publish model", transaction: true) { connection in
            try await Self.lock(.models, scope: self.scope, on: connection)
            return try await Self.publish(bytes, note: note, on: connection)
        }
    }

    public func publishModel(_ bytes: Data, note: String, expectedCurrent: String?) async throws -> PublishedModel? {
        try await perform("publish model", transaction: true) { connection in
            // The models lock serialises publishes: the version read here stays current until commit.
            try await Self.lock(.models, scope: self.scope, on: connection)
            let current = try await connection.rows(
                "SELECT model_id FROM model_publications ORDER BY sequence DESC LIMIT 1"
            ).first?.decode(String.self)
            guard current == expectedCurrent else { return nil }
            return try await Self.publish(bytes, note: note, on: connection)
        }
    }

    public func recordLearnerReport(_ report: LearnerReport, keepingLatest: Int) async throws -> Int64 {
        let payload = try report.encoded()
        let at = report.recordedAt.timeIntervalSince1970
        let kept = Int64(max(1, keepingLatest))
        return try await perform("record a learner report", transaction: true) { connection in
            let sequence = try await connection.int64(
                "INSERT INTO learner_reports (recorded_at, report) VALUES (\(at), \(payload)) RETURNING sequence")
            try await connection.run("DELETE FROM learner_reports WHERE sequence <= \(sequence - kept)")
            return sequence
        }
    }

    public func learnerReports(limit: Int) async throws -> [LearnerReport] {
        guard limit > 0 else { return [] }
        let rows = try await perform("read learner reports", transaction: false) { connection in
            try await connection.rows(
                "SELECT sequence, report FROM learner_reports ORDER BY sequence DESC LIMIT \(Int64(limit))"
            ).map { try $0.decode((Int64, Data).self) }
        }
        return try rows.map { try LearnerReport.decoded($0.1, sequence: $0.0) }
    }

    static func publish(_ bytes: Data, note: String, on connection: PostgresConnection) async throws -> PublishedModel {
        let id = PublishedModel.identifier(of: bytes)
        let now = Date().timeIntervalSince1970
        try await connection.run(
            """
            INSERT INTO model_bundles (id, bytes, byte_count) VALUES (\(id), \(bytes), \(Int64(bytes.count)))
            ON CONFLICT (id) DO NOTHING
            """)
        let sequence = try await connection.int64(
            """
            INSERT INTO model_publications (model_id, note, published_at) VALUES (\(id), \(note), \(now))
            RETURNING sequence
            """)
        return PublishedModel(
            id: id, sequence: sequence, publishedAt: Date(timeIntervalSince1970: now), note: note,
            byteCount: bytes.count)
    }

    public func currentModel() async throws -> PublishedModel? {
        try await modelHistory(limit: 1).first
    }

    public func modelBytes(id: String) async throws -> Data? {
        try await perform("read model bytes", transaction: false) { connection in
            try await connection.rows("SELECT bytes FROM model_bundles WHERE id = \(id)").first?.decode(Data.self)
        }
    }

    public func modelHistory(limit: Int) async throws -> [PublishedModel] {
        guard limit > 0 else { return [] }
        return try await perform("read model history", transaction: false) { connection in
            try await connection.rows(
                """
                SELECT p.model_id, p.sequence, p.published_at, p.note, b.byte_count
                FROM model_publications p JOIN model_bundles b ON b.id = p.model_id
                ORDER BY p.sequence DESC LIMIT \(Int64(limit))
                """
            ).map { row in
                let (id, sequence, at, note, count) = try row.decode((String, Int64, Double, String, Int64).self)
                return PublishedModel(
                    id: id, sequence: sequence, publishedAt: Date(timeIntervalSince1970: at), note: note,
                    byteCount: Int(count))
            }
        }
    }

    // MARK: - Secrets, counts

    public func sharedSecret(name: String) async throws -> Data {
        var generator = SystemRandomNumberGenerator()
        let candidate = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return try await perform("read shared secret", transaction: false) { connection in
            // Two statements, not one: the second sees a value another process committed while
            // this insert waited on it.
            try await connection.run(
                "INSERT INTO shared_secrets (name, value) VALUES (\(name), \(candidate)) ON CONFLICT (name) DO NOTHING")
            guard
                let value = try await connection.rows("SELECT value FROM shared_secrets WHERE name = \(name)").first?
                    .decode(Data.self)
            else {
                throw StoreError("shared secret '\(name)' was not stored", kind: .unavailable)
            }
            return value
        }
    }

    public func counts() async throws -> StoreCounts {
        try await perform("count rows", transaction: false) { connection in
            guard
                let row = try await connection.rows(
                    """
                    SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM feedback), (SELECT count(*) FROM items),
                        (SELECT count(*) FROM impressions), (SELECT count(*) FROM adapted_state)
                    """
                ).first
            else { throw StoreError("counting rows returned nothing") }
            let (users, feedback, items, impressions, states) = try row.decode(
                (Int64, Int64, Int64, Int64, Int64).self)
            return StoreCounts(
                users: Int(users), feedback: Int(feedback), addedItems: Int(items), impressions: Int(impressions),
                adaptedStates: Int(states))
        }
    }

    public func storedStateBytes(user: String) async throws -> Int? {
        try await perform("measure adapted state", transaction: false) { connection in
            try await connection.rows(
                """
                SELECT (octet_length(user_id) + octet_length(model_version) + 8 + octet_length(state))::bigint
                FROM adapted_state WHERE user_id = \(user)
                """
            ).first.map { Int(try $0.decode(Int64.self)) }
        }
    }

    // MARK: - Running calls

    /// What a transaction-scoped advisory lock guards; the second key is the store's schema, so
    /// that stores in different schemas of one database do not wait for each other.
    enum AdvisoryLock: Int32 {
        case migrations = 0x4D52_0001
        case catalogue = 0x4D52_0002
        case models = 0x4D52_0003
        /// Feedback rows commit in sequence order, so a reader of the whole log
        /// (``feedback(after:limit:)``) that moves past a sequence never misses a lower one
        /// committed later. Appends already queue on the disk's sync; this costs the group commit
        /// of concurrent appends.
        case feedbackOrder = 0x4D52_0004
    }

    /// The schema's name as the lock's second key ("" for the user's default search path).
    var scope: String { configuration.schema ?? "" }

    /// Takes `lock` for the rest of the transaction.
    static func lock(_ lock: AdvisoryLock, scope: String, on connection: PostgresConnection) async throws {
        _ = try await connection.query(
            "SELECT pg_advisory_xact_lock(\(lock.rawValue), hashtext(\(scope)))", logger: quiet
        ).collect()
    }

    /// Runs `body` on a pooled connection (in a transaction if asked), retrying a deadlock or
    /// serialisation failure, within the operation time-out; every failure becomes a
    /// ``StoreError`` naming `what` and the location (never the password).
    func perform<T: Sendable>(
        _ what: String, transaction: Bool, timeout: Duration? = nil,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let client = self.client
        do {
            return try await Self.withDeadline(timeout ?? configuration.operationTimeout) {
                var attempt = 0
                while true {
                    do {
                        if transaction {
                            return try await client.withTransaction(logger: Self.quiet) { connection in
                                try await body(connection)
                            }
                        }
                        return try await client.withConnection { connection in try await body(connection) }
                    } catch  where attempt < 3 && Self.isRetryable(error) {
                        attempt += 1
                        try await Task.sleep(for: .milliseconds(Int.random(in: 1...10) * attempt))
                    }
                }
            }
        } catch {
            throw Self.storeError(error, doing: what, configuration: configuration)
        }
    }

    /// `body`'s result, or ``DeadlineExceeded`` once `timeout` has passed, whichever comes
    /// first. At the deadline `body` is cancelled and abandoned, not awaited: a call stuck on a
    /// connection the server dropped (a stopped server can leave one that ignores cancellation)
    /// must not hold its caller, or the per-user lock the caller holds, past the deadline. A
    /// task group cannot do this, since it always waits for every child.
    static func withDeadline<T: Sendable>(
        _ timeout: Duration, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let outcome = FirstOutcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.wait(with: continuation)
                let work = Task {
                    do { outcome.finish(.success(try await body())) } catch { outcome.finish(.failure(error)) }
                }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    work.cancel()
                    outcome.finish(.failure(DeadlineExceeded(timeout: timeout)))
                }
                outcome.onFinish {
                    timer.cancel()
                    work.cancel()
                }
            }
        } onCancel: {
            outcome.finish(.failure(CancellationError()))
        }
    }

    /// The first of several outcomes, handed once to a waiting continuation.
    final class FirstOutcome<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<T, Error>?
        private var early: Result<T, Error>?
        private var finished = false
        private var cleanup: (@Sendable () -> Void)?

        func wait(with continuation: CheckedContinuation<T, Error>) {
            let ready = lock.withLock { () -> Result<T, Error>? in
                if let early { return early }
                self.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }

        /// Runs `body` when the outcome is known (at once if it already is).
        func onFinish(_ body: @escaping @Sendable () -> Void) {
            let now = lock.withLock { () -> Bool in
                if finished { return true }
                cleanup = body
                return false
            }
            if now { body() }
        }

        func finish(_ result: Result<T, Error>) {
            let (waiting, after) = lock.withLock { () -> (CheckedContinuation<T, Error>?, (@Sendable () -> Void)?) in
                guard !finished else { return (nil, nil) }
                finished = true
                if continuation == nil { early = result }
                defer {
                    continuation = nil
                    cleanup = nil
                }
                return (continuation, cleanup)
            }
            waiting?.resume(with: result)
            after?()
        }
    }

    struct DeadlineExceeded: Error {
        var timeout: Duration
    }

    static let quiet = Logger(label: "metarec.postgres-store", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Connects once and disconnects, so that `init` fails fast with the server's own reason.
    private static func probe(_ configuration: Configuration) async throws {
        do {
            var settings = PostgresConnection.Configuration(
                host: configuration.host, port: configuration.port, username: configuration.username,
                password: configuration.password, database: configuration.database,
                tls: try connectionTLS(configuration.tls))
            settings.options.connectTimeout = .nanoseconds(
                Int64(configuration.connectTimeout.components.seconds) * 1_000_000_000
                    + configuration.connectTimeout.components.attoseconds / 1_000_000_000)
            let fixed = settings
            let connection = try await withDeadline(configuration.connectTimeout + .seconds(1)) {
                try await PostgresConnection.connect(configuration: fixed, id: 0, logger: quiet)
            }
            try? await connection.close()
        } catch {
            throw storeError(error, doing: "connect", configuration: configuration)
        }
    }

    private static func connectionTLS(_ mode: Configuration.TLSMode) throws -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }

    private static func tls(_ mode: Configuration.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    private static func feedback(_ row: PostgresRow, user: String) throws -> StoredFeedback {
        let (sequence, item, value, at) = try row.decode((Int64, String, Float, Double).self)
        return StoredFeedback(
            user: user, item: item, value: value, timestamp: Date(timeIntervalSince1970: at), sequence: sequence)
    }

    /// Floats as little-endian IEEE 754 binary32, 4 bytes each (as SQLiteStore keeps them).
    static func bytes(_ values: [Float]) -> Data { Float32Bytes.encode(values) }

    static func floats(_ data: Data) throws -> [Float] {
        guard let floats = Float32Bytes.decode(data) else {
            throw StoreError("a stored adapted state has \(data.count) bytes, not a multiple of 4")
        }
        return floats
    }
}

extension PostgresConnection {
    /// Every row of the query's answer.
    fileprivate func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await self.query(query, logger: PostgresStore.quiet).collect()
    }

    /// Runs a statement whose rows (if any) are not needed.
    fileprivate func run(_ query: PostgresQuery) async throws {
        _ = try await self.query(query, logger: PostgresStore.quiet).collect()
    }

    /// The first column of the first row, which must be there.
    fileprivate func int64(_ query: PostgresQuery) async throws -> Int64 {
        guard let row = try await rows(query).first else {
            throw StoreError("a query that always answers one row answered none")
        }
        return try row.decode(Int64.self)
    }
}
