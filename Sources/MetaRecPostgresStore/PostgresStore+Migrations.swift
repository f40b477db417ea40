import Foundation
import MetaRecStore
import PostgresNIO

extension PostgresStore {
    /// One step of the schema; `statements` run in order in one transaction.
    struct Migration: Sendable {
        var version: Int
        var name: String
        var statements: [String]
    }

    /// Append-only: a released migration never changes, a new one gets the next version.
    /// Timestamps are seconds since 1970 in `double precision` (as `Date` holds them: exact round
    /// trips); feedback values are `real` (float32, exact for `Float`); adapted states are bytea of
    /// little-endian float32.
    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "users, feedback, states, catalogue, models, secrets",
            statements: [
                "CREATE TABLE users (id text PRIMARY KEY, features bytea NOT NULL, created_at double precision NOT NULL)",
                """
                CREATE TABLE feedback (
                    sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id text NOT NULL, item text NOT NULL,
                    value real NOT NULL, at double precision NOT NULL)
                """,
                "CREATE INDEX feedback_by_user ON feedback (user_id, sequence)",
                """
                CREATE TABLE adapted_state (
                    user_id text PRIMARY KEY, model_version text NOT NULL, last_sequence bigint NOT NULL,
                    state bytea NOT NULL)
                """,
                """
                CREATE TABLE idempotency (
                    key text PRIMARY KEY, request_digest text NOT NULL, response bytea NOT NULL,
                    created_at double precision NOT NULL)
                """,
                """
                CREATE TABLE catalogue_changes (
                    sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    kind text NOT NULL CHECK (kind IN ('added', 'hidden', 'shown', 'observation')),
                    item text NOT NULL, model_version text, payload bytea NOT NULL, at double precision NOT NULL)
                """,
                """
                CREATE TABLE items (
                    id text PRIMARY KEY, title text NOT NULL, features bytea NOT NULL, added_at double precision NOT NULL,
                    position bigint NOT NULL)
                """,
                "CREATE TABLE hidden_items (id text PRIMARY KEY)",
                "CREATE TABLE impressions (user_id text NOT NULL, item text NOT NULL, at double precision NOT NULL)",
                "CREATE INDEX impressions_by_user ON impressions (user_id)",
                "CREATE TABLE model_bundles (id text PRIMARY KEY, bytes bytea NOT NULL, byte_count bigint NOT NULL)",
                // Bundles are already dense floats: no point compressing them.
                "ALTER TABLE model_bundles ALTER COLUMN bytes SET STORAGE EXTERNAL",
                """
                CREATE TABLE model_publications (
                    sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    model_id text NOT NULL REFERENCES model_bundles (id), note text NOT NULL,
                    published_at double precision NOT NULL)
                """,
                "CREATE TABLE shared_secrets (name text PRIMARY KEY, value bytea NOT NULL)",
            ]),
        // The online learner's lease (`metarec learn`): one row, its owner and when it lapses, so a
        // learner that died without releasing it does not block the next one for ever. A lease row
        // rather than pg_try_advisory_lock, which belongs to one session and so to one pooled connection.
        Migration(
            version: 2, name: "learner lease",
            statements: [
                """
                CREATE TABLE learner_lock (
                    id integer PRIMARY KEY CHECK (id = 1), owner text NOT NULL, expires_at double precision NOT NULL)
                """
            ]),
        // The online learner's reports (`metarec learn`), for the dashboard and `/metrics`.
        Migration(
            version: 3, name: "learner reports",
            statements: [
                """
                CREATE TABLE learner_reports (
                    sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, recorded_at double precision NOT NULL,
                    report bytea NOT NULL)
                """
            ]),
    ]

    /// Runs the migrations not yet recorded in `schema_migrations`, each in its own transaction
    /// under an advisory lock, so that processes starting together apply each exactly once.
    func migrate() async throws {
        let schema = configuration.schema
        let scope = self.scope
        for migration in Self.migrations {
            // Longer than a request may take: another process may be migrating, and DDL is slow
            // on a busy machine.
            try await perform(
                "migrate the schema to version \(migration.version)", transaction: true,
                timeout: max(configuration.operationTimeout, .seconds(120))
            ) { connection in
                try await Self.lock(.migrations, scope: scope, on: connection)
                if let schema {
                    // `schema` is a plain lower-case identifier (checked by Configuration).
                    _ = try await connection.query(
                        PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: Self.quiet
                    ).collect()
                }
                _ = try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: Self.quiet
                ).collect()
                let newest =
                    try await connection.query(
                        "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations", logger: Self.quiet
                    ).collect().first?.decode(Int64.self) ?? 0
                if newest > Int64(Self.migrations.last?.version ?? 0) {
                    throw StoreError(
                        "the database's schema is at version \(newest), newer than this program knows (\(Self.migrations.last?.version ?? 0)); upgrade metarec"
                    )
                }
                let applied = try await connection.query(
                    "SELECT 1 FROM schema_migrations WHERE version = \(migration.version)", logger: Self.quiet
                ).collect()
                guard applied.isEmpty else { return }
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Self.quiet).collect()
                }
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: Self.quiet
                ).collect()
            }
        }
    }

    /// The versions recorded in `schema_migrations`, in order.
    func appliedMigrations() async throws -> [Int] {
        try await perform("read schema_migrations", transaction: false) { connection in
            try await connection.query("SELECT version FROM schema_migrations ORDER BY version", logger: Self.quiet)
                .collect().map { Int(try $0.decode(Int32.self)) }
        }
    }

    /// Drops the configured schema and everything in it: for tests and benchmarks that give each
    /// run a schema of its own. Refuses a store without a schema.
    public func dropSchema() async throws {
        guard let schema = configuration.schema else { throw StoreError("this store has no schema of its own to drop") }
        try await perform("drop schema \(schema)", transaction: false) { connection in
            _ = try await connection.query(
                PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: Self.quiet
            ).collect()
        }
    }

    // MARK: - Errors

    /// Deadlocks and serialisation failures: the transaction was rolled back and may simply run again.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let state = sqlState(error) else { return false }
        return state == "40001" || state == "40P01"
    }

    /// The server's SQLSTATE inside `error`, if it came from the server.
    static func sqlState(_ error: any Error) -> String? {
        if let error = error as? PostgresTransactionError {
            return (error.closureError ?? error.beginError ?? error.commitError).flatMap(sqlState)
        }
        if let error = error as? PSQLError, error.code == .server { return error.serverInfo?[.sqlState] }
        return nil
    }

    /// `error` as a ``StoreError`` naming the operation and the location: `.unavailable` for
    /// what a retry later may cure (no connection, time-out, server shutting down, too many
    /// connections, conflicts), `.failed` for the rest. PostgresNIO's own descriptions are not
    /// used (they can include the query and its values), nor is the password ever included.
    static func storeError(_ error: any Error, doing what: String, configuration: Configuration) -> StoreError {
        let (reason, kind) = explain(error)
        var text = "PostgreSQL store \(configuration): \(what): \(reason)"
        if let password = configuration.password, !password.isEmpty {
            text = text.replacingOccurrences(of: password, with: "<password>")
        }
        return StoreError(text, kind: kind)
    }

    private static func explain(_ error: any Error) -> (String, StoreError.Kind) {
        switch error {
        case let error as StoreError:
            return (error.description, error.kind)
        case let error as DeadlineExceeded:
            return ("no answer within \(error.timeout)", .unavailable)
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.beginError { return explain(inner) }
            if let inner = error.commitError {
                let (reason, _) = explain(inner)
                return ("commit failed (the write may or may not have landed): \(reason)", .unavailable)
            }
            return ("the transaction failed", .unavailable)
        case let error as PSQLError:
            if error.code == .server {
                let state = error.serverInfo?[.sqlState] ?? "?"
                let message = error.serverInfo?[.message] ?? "no message"
                // 08 connection, 53 resources, 57 operator intervention (shutdown), 58 system
                // error, 40 conflicts left after retrying.
                let transient = ["08", "53", "57", "58", "40"].contains(String(state.prefix(2)))
                return ("server error \(state): \(message)", transient ? .unavailable : .failed)
            }
            var reason = "cannot reach the server (\(error.code))"
            if let underlying = error.underlying { reason += ": \(underlying)" }
            return (reason, .unavailable)
        case let error as PostgresDecodingError:
            return (
                "column '\(error.columnName)' cannot be read as \(error.targetType) (\(error.code))", .failed
            )
        case is CancellationError:
            return ("cancelled", .unavailable)
        default:
            let name = String(reflecting: type(of: error))
            if name.hasPrefix("ConnectionPoolModule.") || name.hasPrefix("_ConnectionPoolModule.")
                || name.hasPrefix("NIO")
            {
                return ("cannot reach the server: \(error)", .unavailable)
            }
            return ("\(error)", .failed)
        }
    }
}
