import Foundation
import GRDB

/// The default store: one SQLite file through GRDB, in WAL mode (readers never wait for the
/// writer) with `synchronous = FULL`, so a write that returned survives a crash or power loss.
/// Nothing else to install.
///
/// ```swift
/// let store = try SQLiteStore(path: "metarec.sqlite")
/// _ = try await store.append(FeedbackBatch(rows: [StoredFeedback(user: "u1", item: "50", value: 5, timestamp: Date())]))
/// ```
public final class SQLiteStore: RecommendationStore {
    private let pool: DatabasePool
    public let path: String

    /// - Parameter busyTimeout: how long a write waits for another process holding the file's
    ///   write lock before the store answers unavailable.
    public init(path: String, busyTimeout: TimeInterval = 10) throws {
        self.path = path
        var configuration = Configuration()
        // Another process (or another pool on the same file) may hold the write lock: wait for it.
        configuration.busyMode = .timeout(busyTimeout)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` when it turns WAL on (after `prepareDatabase`), which
            // can lose acknowledged writes on a power loss: the writer is set back to FULL here.
            try pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw StoreError("\(path): cannot open the SQLite store: \(error)")
        }
        do {
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError("\(path): cannot prepare the store's tables: \(error)")
        }
    }

    /// Reads, with a busy or locked database (another process holding it past the busy timeout)
    /// reported as unavailable (503), not as a failure.
    private func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch let error as DatabaseError { throw Self.mapped(error) }
    }

    /// Writes in one transaction; busy or locked as ``read(_:)``.
    private func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch let error as DatabaseError { throw Self.mapped(error) }
    }

    static func mapped(_ error: DatabaseError) -> any Error {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(
                "the SQLite store is locked by another process: \(error.message ?? "busy")", kind: .unavailable)
        case .SQLITE_FULL, .SQLITE_IOERR:
            return StoreError("the SQLite store cannot write: \(error.message ?? "I/O error")", kind: .unavailable)
        default:
            return error
        }
    }

    /// The writer's `PRAGMA synchronous` (2 is FULL), for the test that guards durability.
    func synchronousMode() async throws -> Int {
        try await write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (id TEXT PRIMARY KEY NOT NULL, features BLOB NOT NULL, created_at REAL NOT NULL);
                    CREATE TABLE feedback (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, item TEXT NOT NULL,
                        value REAL NOT NULL, timestamp REAL NOT NULL);
                    CREATE INDEX feedback_by_user ON feedback (user, sequence);
                    CREATE TABLE adapted_state (
                        user TEXT PRIMARY KEY NOT NULL, model_version TEXT NOT NULL, last_sequence INTEGER NOT NULL,
                        state BLOB NOT NULL) WITHOUT ROWID;
                    CREATE TABLE items (
                        id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL, features BLOB NOT NULL, added_at REAL NOT NULL);
                    CREATE TABLE hidden_items (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
                    CREATE TABLE impressions (user TEXT NOT NULL, item TEXT NOT NULL, at REAL NOT NULL);
                    CREATE INDEX impressions_by_user ON impressions (user);
                    """)
        }
        // v2: what several processes share (round three): retried writes, the catalogue's change
        // log, published model versions, shared secrets; the latest value per (user, item).
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    CREATE INDEX feedback_by_user_item ON feedback (user, item, sequence);
                    CREATE TABLE idempotency (
                        key TEXT PRIMARY KEY NOT NULL, request_digest TEXT NOT NULL, response BLOB NOT NULL,
                        created_at REAL NOT NULL) WITHOUT ROWID;
                    CREATE TABLE catalogue_changes (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, item TEXT NOT NULL,
                        model_version TEXT, payload BLOB);
                    CREATE TABLE models (id TEXT PRIMARY KEY NOT NULL, bytes BLOB NOT NULL, byte_count INTEGER NOT NULL)
                        WITHOUT ROWID;
                    CREATE TABLE model_publications (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL REFERENCES models (id),
                        published_at REAL NOT NULL, note TEXT NOT NULL);
                    CREATE TABLE secrets (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
                    """)
            // A store from before v2: its items and hidden flags become the log's first changes.
            for row in try Row.fetchAll(
                db, sql: "SELECT id, title, features, added_at FROM items ORDER BY added_at, rowid")
            {
                let item = StoredItem(
                    id: row["id"], title: row["title"], features: row["features"],
                    addedAt: Date(timeIntervalSince1970: row["added_at"]))
                _ = try logChange(
                    db, CatalogueChange(kind: .added, item: item.id, payload: try CatalogueChange.encode(item)))
            }
            for id in try String.fetchAll(db, sql: "SELECT id FROM hidden_items") {
                _ = try logChange(db, CatalogueChange(kind: .hidden, item: id))
            }
        }
        // v3: the online learner's lock (`metarec learn`): one row, its owner and when it lapses,
        // so a learner that died without releasing it does not block the next one for ever.
        migrator.registerMigration("v3") { db in
            try db.execute(
                sql: """
                    CREATE TABLE learner_lock (
                        id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, expires_at REAL NOT NULL);
                    """)
        }
        // v4: the online learner's reports (`metarec learn`), for the dashboard and `/metrics`.
        migrator.registerMigration("v4") { db in
            try db.execute(
                sql: """
                    CREATE TABLE learner_reports (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at REAL NOT NULL, report BLOB NOT NULL);
                    """)
        }
        return migrator
    }

    public func user(_ id: String) async throws -> StoredUser? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT features, created_at FROM users WHERE id = ?", arguments: [id])
            else {
                return nil
            }
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM feedback WHERE user = ?", arguments: [id]) ?? 0
            return StoredUser(
                id: id, features: row["features"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                feedbackCount: count)
        }
    }

    public func saveUser(_ user: StoredUser) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO users (id, features, created_at) VALUES (?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET features = excluded.features
                    """,
                arguments: [user.id, user.features, user.createdAt.timeIntervalSince1970])
        }
    }

    public func deleteUser(_ id: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [id])
            let existed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM feedback WHERE user = ?", arguments: [id])
            let hadFeedback = db.changesCount > 0
            try db.execute(sql: "DELETE FROM adapted_state WHERE user = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM impressions WHERE user = ?", arguments: [id])
            return existed || hadFeedback
        }
    }

    public func append(_ batch: FeedbackBatch) async throws -> AppendOutcome {
        try await write { db in
            if let write = batch.idempotency {
                if let row = try Row.fetchOne(
                    db, sql: "SELECT request_digest, response FROM idempotency WHERE key = ?", arguments: [write.key])
                {
                    let digest: String = row["request_digest"]
                    return digest == write.requestDigest ? .replayed(response: row["response"]) : .keyReused
                }
            }
            let users = Set(batch.rows.map(\.user))
            var before: [String: Int64] = [:]
            for user in users { before[user] = try Self.head(db, user: user) }
            let now = Date().timeIntervalSince1970
            let createUser = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO users (id, features, created_at) VALUES (?, ?, ?)")
            for user in users.sorted() { try createUser.execute(arguments: [user, Data("{}".utf8), now]) }
            let insert = try db.cachedStatement(
                sql: "INSERT INTO feedback (user, item, value, timestamp) VALUES (?, ?, ?, ?)")
            var heads: [String: Int64] = [:]
            for row in batch.rows {
                try insert.execute(arguments: [
                    row.user, row.item, Double(row.value), row.timestamp.timeIntervalSince1970,
                ])
                heads[row.user] = db.lastInsertedRowID
            }
            var saved: Set<String> = []
            for (user, state) in batch.states {
                guard let head = heads[user], before[user] == state.basedOn else { continue }
                if try Self.saveState(
                    db, StoredState(modelVersion: state.modelVersion, lastSequence: head, values: state.values),
                    user: user)
                {
                    saved.insert(user)
                }
            }
            for change in batch.catalogue { _ = try Self.logChange(db, change) }
            if let write = batch.idempotency {
                try db.execute(
                    sql: "INSERT INTO idempotency (key, request_digest, response, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [write.key, write.requestDigest, write.response, now])
            }
            return .stored(heads: heads, statesSaved: saved)
        }
    }

    static func head(_ db: Database, user: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM feedback WHERE user = ?", arguments: [user]) ?? 0
    }

    public func feedbackHead(user: String) async throws -> Int64 {
        try await read { db in try Self.head(db, user: user) }
    }

    public func latestFeedback(user: String, limit: Int) async throws -> [StoredFeedback] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT sequence, item, value, timestamp FROM (
                        SELECT sequence, item, value, timestamp,
                               ROW_NUMBER() OVER (PARTITION BY item ORDER BY sequence DESC) AS newest
                        FROM feedback WHERE user = ?)
                    WHERE newest = 1 ORDER BY sequence DESC LIMIT ?
                    """,
                arguments: [user, limit])
            return rows.reversed().map { Self.feedback($0, user: user) }
        }
    }

    public func feedbackLog(user: String) async throws -> [StoredFeedback] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT sequence, item, value, timestamp FROM feedback WHERE user = ? ORDER BY sequence",
                arguments: [user]
            ).map { Self.feedback($0, user: user) }
        }
    }

    public func feedback(after sequence: Int64, limit: Int) async throws -> [StoredFeedback] {
        // One writer at a time: a row is visible only once every lower sequence is, so reading on
        // from the last sequence seen never misses one.
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT sequence, user, item, value, timestamp FROM feedback
                    WHERE sequence > ? ORDER BY sequence LIMIT ?
                    """,
                arguments: [sequence, max(0, limit)]
            ).map { Self.feedback($0, user: $0["user"]) }
        }
    }

    public func tryLockLearner(owner: String, for duration: TimeInterval) async throws -> Bool {
        let now = Date().timeIntervalSince1970
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO learner_lock (id, owner, expires_at) VALUES (1, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                    WHERE learner_lock.owner = excluded.owner OR learner_lock.expires_at < ?
                    """,
                arguments: [owner, now + max(0, duration), now])
            return db.changesCount > 0
        }
    }

    public func releaseLearner(owner: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM learner_lock WHERE owner = ?", arguments: [owner])
        }
    }

    static func feedback(_ row: Row, user: String) -> StoredFeedback {
        StoredFeedback(
            user: user, item: row["item"], value: Float(row["value"] as Double),
            timestamp: Date(timeIntervalSince1970: row["timestamp"]), sequence: row["sequence"])
    }

    public func ratedItems(user: String) async throws -> Set<String> {
        try await read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT item FROM feedback WHERE user = ?", arguments: [user]))
        }
    }

    /// One read transaction: the user row joined with their state, then their log grouped by item.
    public func userReading(_ id: String) async throws -> UserReading? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT u.features, u.created_at, s.model_version, s.last_sequence, s.state
                        FROM users u LEFT JOIN adapted_state s ON s.user = u.id WHERE u.id = ?
                        """, arguments: [id])
            else { return nil }
            var rated = Set<String>()
            var count = 0
            var head: Int64 = 0
            for item in try Row.fetchAll(
                db, sql: "SELECT item, COUNT(*) AS n, MAX(sequence) AS head FROM feedback WHERE user = ? GROUP BY item",
                arguments: [id])
            {
                rated.insert(item["item"])
                count += item["n"] as Int
                head = max(head, item["head"] as Int64)
            }
            let version: String? = row["model_version"]
            return UserReading(
                user: StoredUser(
                    id: id, features: row["features"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
                    feedbackCount: count),
                rated: rated, feedbackHead: head,
                state: version.map {
                    StoredState(modelVersion: $0, lastSequence: row["last_sequence"], values: Self.floats(row["state"]))
                })
        }
    }

    public func adaptedState(user: String) async throws -> StoredState? {
        try await read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT model_version, last_sequence, state FROM adapted_state WHERE user = ?",
                    arguments: [user])
            else { return nil }
            return StoredState(
                modelVersion: row["model_version"], lastSequence: row["last_sequence"],
                values: Self.floats(row["state"]))
        }
    }

    @discardableResult
    public func saveAdaptedState(_ state: StoredState, user: String) async throws -> Bool {
        try await write { db in try Self.saveState(db, state, user: user) }
    }

    /// Compare-and-set: a state of the same version never replaces a newer one.
    static func saveState(_ db: Database, _ state: StoredState, user: String) throws -> Bool {
        try db.execute(
            sql: """
                INSERT INTO adapted_state (user, model_version, last_sequence, state) VALUES (?, ?, ?, ?)
                ON CONFLICT(user) DO UPDATE SET model_version = excluded.model_version,
                    last_sequence = excluded.last_sequence, state = excluded.state
                WHERE adapted_state.model_version <> excluded.model_version
                    OR adapted_state.last_sequence <= excluded.last_sequence
                """,
            arguments: [user, state.modelVersion, state.lastSequence, Self.bytes(state.values)])
        return db.changesCount > 0
    }

    public func addItem(_ item: StoredItem) async throws -> Int64? {
        let payload = try CatalogueChange.encode(item)
        return try await write { db in
            try db.execute(
                sql: "INSERT INTO items (id, title, features, added_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                arguments: [item.id, item.title, item.features, item.addedAt.timeIntervalSince1970])
            guard db.changesCount > 0 else { return nil }
            return try Self.logChange(db, CatalogueChange(kind: .added, item: item.id, payload: payload))
        }
    }

    public func addedItems() async throws -> [StoredItem] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, title, features, added_at FROM items ORDER BY added_at, rowid").map {
                row in
                StoredItem(
                    id: row["id"], title: row["title"], features: row["features"],
                    addedAt: Date(timeIntervalSince1970: row["added_at"]))
            }
        }
    }

    public func setHidden(item: String, _ hidden: Bool) async throws -> Int64 {
        try await write { db in
            if hidden {
                try db.execute(sql: "INSERT OR IGNORE INTO hidden_items (id) VALUES (?)", arguments: [item])
            } else {
                try db.execute(sql: "DELETE FROM hidden_items WHERE id = ?", arguments: [item])
            }
            return try Self.logChange(db, CatalogueChange(kind: hidden ? .hidden : .shown, item: item))
        }
    }

    public func hiddenItems() async throws -> Set<String> {
        try await read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM hidden_items")) }
    }

    public func recordObservation(item: String, modelVersion: String, payload: Data) async throws -> Int64 {
        try await write { db in
            try Self.logChange(
                db, CatalogueChange(kind: .observation, item: item, modelVersion: modelVersion, payload: payload))
        }
    }

    static func logChange(_ db: Database, _ change: CatalogueChange) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO catalogue_changes (kind, item, model_version, payload) VALUES (?, ?, ?, ?)",
            arguments: [change.kind.rawValue, change.item, change.modelVersion, change.payload])
        return db.lastInsertedRowID
    }

    public func catalogueChanges(after sequence: Int64, limit: Int) async throws -> [CatalogueChange] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT sequence, kind, item, model_version, payload FROM catalogue_changes
                    WHERE sequence > ? ORDER BY sequence LIMIT ?
                    """,
                arguments: [sequence, limit]
            ).compactMap { row in
                guard let kind = CatalogueChange.Kind(rawValue: row["kind"]) else { return nil }
                return CatalogueChange(
                    sequence: row["sequence"], kind: kind, item: row["item"], modelVersion: row["model_version"],
                    payload: row["payload"] ?? Data())
            }
        }
    }

    public func catalogueHead() async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM catalogue_changes") ?? 0
        }
    }

    public func recordImpressions(user: String, items: [String], at date: Date) async throws {
        guard !items.isEmpty else { return }
        try await write { db in
            let statement = try db.cachedStatement(sql: "INSERT INTO impressions (user, item, at) VALUES (?, ?, ?)")
            for item in items { try statement.execute(arguments: [user, item, date.timeIntervalSince1970]) }
        }
    }

    // MARK: - Model versions

    public func publishModel(_ bytes: Data, note: String) async throws -> PublishedModel {
        try await write { db in try Self.publish(db, bytes, note: note) }
    }

    static func publish(_ db: Database, _ bytes: Data, note: String) throws -> PublishedModel {
        let id = PublishedModel.identifier(of: bytes)
        let now = Date()
        try db.execute(
            sql: "INSERT OR IGNORE INTO models (id, bytes, byte_count) VALUES (?, ?, ?)",
            arguments: [id, bytes, bytes.count])
        try db.execute(
            sql: "INSERT INTO model_publications (model, published_at, note) VALUES (?, ?, ?)",
            arguments: [id, now.timeIntervalSince1970, note])
        return PublishedModel(
            id: id, sequence: db.lastInsertedRowID, publishedAt: now, note: note, byteCount: bytes.count)
    }

    public func publishModel(_ bytes: Data, note: String, expectedCurrent: String?) async throws -> PublishedModel? {
        // One write transaction: no other publish can come between the check and the insert.
        try await write { db in
            let current = try String.fetchOne(
                db, sql: "SELECT model FROM model_publications ORDER BY sequence DESC LIMIT 1")
            guard current == expectedCurrent else { return nil }
            return try Self.publish(db, bytes, note: note)
        }
    }

    public func recordLearnerReport(_ report: LearnerReport, keepingLatest: Int) async throws -> Int64 {
        let payload = try report.encoded()
        return try await write { db in
            try db.execute(
                sql: "INSERT INTO learner_reports (recorded_at, report) VALUES (?, ?)",
                arguments: [report.recordedAt.timeIntervalSince1970, payload])
            let sequence = db.lastInsertedRowID
            try db.execute(
                sql: "DELETE FROM learner_reports WHERE sequence <= ?",
                arguments: [sequence - Int64(max(1, keepingLatest))])
            return sequence
        }
    }

    public func learnerReports(limit: Int) async throws -> [LearnerReport] {
        let rows = try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT sequence, report FROM learner_reports ORDER BY sequence DESC LIMIT ?",
                arguments: [max(0, limit)]
            ).map { (row: Row) -> (Int64, Data) in (row["sequence"], row["report"]) }
        }
        return try rows.map { try LearnerReport.decoded($0.1, sequence: $0.0) }
    }

    public func currentModel() async throws -> PublishedModel? {
        try await modelHistory(limit: 1).first
    }

    public func modelBytes(id: String) async throws -> Data? {
        try await read { db in try Data.fetchOne(db, sql: "SELECT bytes FROM models WHERE id = ?", arguments: [id])
        }
    }

    public func modelHistory(limit: Int) async throws -> [PublishedModel] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT p.sequence, p.model, p.published_at, p.note, m.byte_count
                    FROM model_publications p JOIN models m ON m.id = p.model
                    ORDER BY p.sequence DESC LIMIT ?
                    """,
                arguments: [limit]
            ).map { row in
                PublishedModel(
                    id: row["model"], sequence: row["sequence"],
                    publishedAt: Date(timeIntervalSince1970: row["published_at"]), note: row["note"],
                    byteCount: row["byte_count"])
            }
        }
    }

    public func sharedSecret(name: String) async throws -> Data {
        let candidate = PublishedModel.randomBytes(32)
        return try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", arguments: [name, candidate])
            guard let value = try Data.fetchOne(db, sql: "SELECT value FROM secrets WHERE name = ?", arguments: [name])
            else { throw StoreError("the secret '\(name)' vanished while being created") }
            return value
        }
    }

    public func counts() async throws -> StoreCounts {
        try await read { db in
            func count(_ table: String) throws -> Int {
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return StoreCounts(
                users: try count("users"), feedback: try count("feedback"), addedItems: try count("items"),
                impressions: try count("impressions"), adaptedStates: try count("adapted_state"))
        }
    }

    public func storedStateBytes(user: String) async throws -> Int? {
        try await read { db in
            try Int.fetchOne(
                db,
                sql:
                    "SELECT length(user) + length(model_version) + 8 + length(state) FROM adapted_state WHERE user = ?",
                arguments: [user])
        }
    }

    public func close() async throws {
        try pool.close()
    }

    static func bytes(_ values: [Float]) -> Data { Float32Bytes.encode(values) }

    /// A stored state's floats (a length that is not a multiple of 4 loses its trailing bytes).
    static func floats(_ data: Data) -> [Float] {
        Float32Bytes.decode(data.prefix(data.count - data.count % 4)) ?? []
    }
}
