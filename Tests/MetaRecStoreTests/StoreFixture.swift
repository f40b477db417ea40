import Foundation
import MetaRecStore
import Testing

@testable import MetaRecPostgresStore

/// The stores every test in this target runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// SQLite always; PostgreSQL when METAREC_TEST_POSTGRES_URL names a server, and also under
    /// CI=true without it, so that the PostgreSQL cases fail there instead of vanishing.
    static var underTest: [StoreKind] {
        let environment = ProcessInfo.processInfo.environment
        let url = environment["METAREC_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty && environment["CI"] != "true" ? [.sqlite] : [.sqlite, .postgres]
    }
}

/// One test's own empty store: a new SQLite file, or a new PostgreSQL schema on the server
/// METAREC_TEST_POSTGRES_URL names, so that tests never see each other. `open()` opens
/// another instance on the same data (a reopen, or a second process).
final class StoreFixture: Sendable {
    let kind: StoreKind
    private let directory: URL
    private let postgres: PostgresStore.Configuration?

    init(_ kind: StoreKind) throws {
        self.kind = kind
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-store-\(UUID().uuidString)")
        switch kind {
        case .sqlite:
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            postgres = nil
        case .postgres:
            let environment = ProcessInfo.processInfo.environment
            guard let url = environment["METAREC_TEST_POSTGRES_URL"], !url.isEmpty else {
                throw StoreError(
                    "METAREC_TEST_POSTGRES_URL is not set while CI=true: the PostgreSQL store would go untested (.ci/run starts a server with Scripts/postgres.sh)"
                )
            }
            var configuration = try PostgresStore.Configuration(url: url, password: environment["PGPASSWORD"])
            configuration.schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            // Tests run in parallel, several instances each: stay well under the server's limit.
            configuration.maximumConnections = 4
            postgres = configuration
        }
    }

    var postgresConfiguration: PostgresStore.Configuration? { postgres }

    var sqlitePath: String { directory.appendingPathComponent("store.sqlite").path }

    func open() async throws -> any RecommendationStore {
        switch kind {
        case .sqlite: try SQLiteStore(path: sqlitePath)
        case .postgres: try await openPostgres()
        }
    }

    func openPostgres() async throws -> PostgresStore {
        guard let postgres else { throw StoreError("not a PostgreSQL fixture") }
        return try await PostgresStore(configuration: postgres)
    }

    /// Removes the file or the schema.
    func remove() async {
        switch kind {
        case .sqlite:
            try? FileManager.default.removeItem(at: directory)
        case .postgres:
            guard let store = try? await openPostgres() else { return }
            try? await store.dropSchema()
            try? await store.close()
        }
    }
}

/// Runs `body` with a fresh fixture of `kind` and removes it afterwards, also when `body` throws.
func withFixture(_ kind: StoreKind, _ body: (StoreFixture) async throws -> Void) async throws {
    let fixture = try StoreFixture(kind)
    do {
        try await body(fixture)
    } catch {
        await fixture.remove()
        throw error
    }
    await fixture.remove()
}

/// Runs `body` with one open store of a fresh fixture, closed and removed afterwards.
func withStore(_ kind: StoreKind, _ body: (any RecommendationStore) async throws -> Void) async throws {
    try await withFixture(kind) { fixture in
        let store = try await fixture.open()
        do {
            try await body(store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}

/// A feedback row at a fixed time (tests compare timestamps exactly).
func row(_ user: String, _ item: String, _ value: Float, at seconds: Double = 1_700_000_000) -> StoredFeedback {
    StoredFeedback(user: user, item: item, value: value, timestamp: Date(timeIntervalSince1970: seconds))
}

extension AppendOutcome {
    /// The heads and saved states of a stored batch; nil for a replay or a reused key.
    var stored: (heads: [String: Int64], statesSaved: Set<String>)? {
        if case .stored(let heads, let saved) = self { return (heads, saved) }
        return nil
    }
}
