import Foundation
import GRDB

/// The default store: one SQLite file through GRDB, in WAL mode (readers never wait for the
/// writer) with `synchronous = FULL`, so a write that returned survives a crash or power loss.
/// Nothing else to install.
///
/// ```swift
/// let store = try SQLiteStore(path: "metarec.sqlite")
/// try await store.append([StoredFeedback(user: "u1", item: "50", value: 5, timestamp: Date())])
/// ```
public final class SQLiteStore: RecommendationStore {
    private let pool: DatabasePool
    public let path: String

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError("\(path): cannot open the SQLite store: \(error)")
        }
        do {
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError("\(path): cannot prepare the store's tables: \(error)")
        }
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
        return migrator
    }

    public func user(_ id: String) async throws -> StoredUser? {
        try await pool.read { db in
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
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO users (id, features, created_at) VALUES (?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET features = excluded.features
                    """,
                arguments: [user.id, user.features, user.createdAt.timeIntervalSince1970])
        }
    }

    public func deleteUser(_ id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [id])
            let existed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM feedback WHERE user = ?", arguments: [id])
            let hadFeedback = db.changesCount > 0
            try db.execute(sql: "DELETE FROM adapted_state WHERE user = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM impressions WHERE user = ?", arguments: [id])
            return existed || hadFeedback
        }
    }

    public func append(_ feedback: [StoredFeedback]) async throws {
        guard !feedback.isEmpty else { return }
        try await pool.write { db in
            let now = Date().timeIntervalSince1970
            for user in Set(feedback.map(\.user)) {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO users (id, features, created_at) VALUES (?, ?, ?)",
                    arguments: [user, Data("{}".utf8), now])
            }
            let statement = try db.cachedStatement(
                sql: "INSERT INTO feedback (user, item, value, timestamp) VALUES (?, ?, ?, ?)")
            for row in feedback {
                try statement.execute(arguments: [
                    row.user, row.item, Double(row.value), row.timestamp.timeIntervalSince1970,
                ])
            }
        }
    }

    public func recentFeedback(user: String, limit: Int) async throws -> [StoredFeedback] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT sequence, item, value, timestamp FROM feedback WHERE user = ? ORDER BY sequence DESC LIMIT ?",
                arguments: [user, limit])
            return rows.reversed().map { row in
                StoredFeedback(
                    user: user, item: row["item"], value: Float(row["value"] as Double),
                    timestamp: Date(timeIntervalSince1970: row["timestamp"]), sequence: row["sequence"])
            }
        }
    }

    public func ratedItems(user: String) async throws -> Set<String> {
        try await pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT item FROM feedback WHERE user = ?", arguments: [user]))
        }
    }

    public func adaptedState(user: String) async throws -> StoredState? {
        try await pool.read { db in
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

    public func saveAdaptedState(_ state: StoredState, user: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql:
                    "INSERT OR REPLACE INTO adapted_state (user, model_version, last_sequence, state) VALUES (?, ?, ?, ?)",
                arguments: [user, state.modelVersion, state.lastSequence, Self.bytes(state.values)])
        }
    }

    public func saveItem(_ item: StoredItem) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO items (id, title, features, added_at) VALUES (?, ?, ?, ?)",
                arguments: [item.id, item.title, item.features, item.addedAt.timeIntervalSince1970])
        }
    }

    public func addedItems() async throws -> [StoredItem] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, title, features, added_at FROM items ORDER BY added_at, rowid").map {
                row in
                StoredItem(
                    id: row["id"], title: row["title"], features: row["features"],
                    addedAt: Date(timeIntervalSince1970: row["added_at"]))
            }
        }
    }

    public func setHidden(item: String, _ hidden: Bool) async throws {
        try await pool.write { db in
            if hidden {
                try db.execute(sql: "INSERT OR IGNORE INTO hidden_items (id) VALUES (?)", arguments: [item])
            } else {
                try db.execute(sql: "DELETE FROM hidden_items WHERE id = ?", arguments: [item])
            }
        }
    }

    public func hiddenItems() async throws -> Set<String> {
        try await pool.read { db in Set(try String.fetchAll(db, sql: "SELECT id FROM hidden_items")) }
    }

    public func recordImpressions(user: String, items: [String], at date: Date) async throws {
        guard !items.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.cachedStatement(sql: "INSERT INTO impressions (user, item, at) VALUES (?, ?, ?)")
            for item in items { try statement.execute(arguments: [user, item, date.timeIntervalSince1970]) }
        }
    }

    public func counts() async throws -> StoreCounts {
        try await pool.read { db in
            func count(_ table: String) throws -> Int {
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
            }
            return StoreCounts(
                users: try count("users"), feedback: try count("feedback"), addedItems: try count("items"),
                impressions: try count("impressions"), adaptedStates: try count("adapted_state"))
        }
    }

    public func storedStateBytes(user: String) async throws -> Int? {
        try await pool.read { db in
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

    /// Floats as little-endian IEEE 754 binary32, 4 bytes each.
    static func bytes(_ values: [Float]) -> Data {
        var data = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    static func floats(_ data: Data) -> [Float] {
        let bytes = [UInt8](data)
        return stride(from: 0, to: bytes.count - bytes.count % 4, by: 4).map { i in
            Float(
                bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(
                    bytes[i + 3]) << 24)
        }
    }
}
