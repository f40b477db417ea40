import Foundation
import MetaRecStore
import Testing

@testable import MetaRecPostgresStore

/// What only the PostgreSQL store has: its location string, and failures that must surface as
/// typed errors naming what failed, never with the password.
@Suite struct PostgresStoreTests {
    /// A body that ignores cancellation (as a query on a connection the server dropped can)
    /// still gives way at the deadline, so its caller (and the per-user lock it holds) is freed:
    /// the deadline answers while the body is still blocked. (A deadline that awaited the body
    /// would answer only after the fallback release, 60 s later, and fail the check.)
    @Test func aDeadlineDoesNotWaitForABodyThatIgnoresCancellation() async throws {
        let gate = Gate()
        let fallback = Task {
            try? await Task.sleep(for: .seconds(60))
            gate.open()
        }
        await #expect(throws: PostgresStore.DeadlineExceeded.self) {
            _ = try await PostgresStore.withDeadline(.milliseconds(100)) { () async throws -> Int in
                await gate.wait()
                return 1
            }
        }
        #expect(!gate.isOpen)
        gate.open()
        fallback.cancel()
        // A body that finishes in time gives its value; one that throws gives its error.
        #expect(try await PostgresStore.withDeadline(.seconds(30)) { 42 } == 42)
        await #expect(throws: CancellationError.self) {
            _ = try await PostgresStore.withDeadline(.seconds(30)) { () async throws -> Int in throw CancellationError()
            }
        }
    }

    @Test func aLocationIsParsedWithItsDefaults() throws {
        let plain = try PostgresStore.Configuration(url: "postgres://metarec@db.local/recs", password: "pw")
        #expect(plain.host == "db.local" && plain.port == 5432 && plain.username == "metarec")
        #expect(plain.database == "recs" && plain.schema == nil && plain.tls == .prefer && plain.password == "pw")
        let full = try PostgresStore.Configuration(
            url: "postgresql://ann@127.0.0.1:25432/metarec?schema=tenant_1&sslmode=disable", password: nil)
        #expect(full.port == 25432 && full.schema == "tenant_1" && full.tls == .disable)
        #expect(full.description == "postgres://ann@127.0.0.1:25432/metarec?schema=tenant_1")
        #expect(!"\(plain)".contains("pw"), "the description never shows the password")
    }

    @Test(arguments: [
        ("mysql://ann@host/db", "'mysql'"),
        ("postgres://host/db", "no user"),
        ("postgres://ann@/db", "no host"),
        ("postgres://ann@host", "no database"),
        ("postgres://ann@host:70000/db", "port"),
        ("postgres://ann@host/db?schema=Bad-Name", "schema"),
        ("postgres://ann@host/db?sslmode=maybe", "sslmode"),
        ("postgres://ann@host/db?user=x", "'user'"),
    ])
    func aBadLocationIsRefusedNamingWhatIsWrong(url: String, expected: String) {
        #expect { try PostgresStore.Configuration(url: url) } throws: { "\($0)".contains(expected) }
    }

    @Test func aPasswordInTheLocationIsRefusedWithoutRepeatingIt() {
        #expect {
            try PostgresStore.Configuration(url: "postgres://ann:hunter2-secret@host/db")
        } throws: { error in
            "\(error)".contains("PGPASSWORD") && !"\(error)".contains("hunter2")
        }
    }

    /// Nothing listens on the port: `init` fails fast as unavailable, naming the location and
    /// not the password.
    @Test func anUnreachableServerIsUnavailableNotACrash() async throws {
        var configuration = PostgresStore.Configuration(
            host: "127.0.0.1", port: try Self.closedPort(), username: "metarec", password: "hunter2-secret",
            database: "metarec", tls: .disable)
        configuration.connectTimeout = .seconds(2)
        let started = ContinuousClock.now
        await #expect {
            try await PostgresStore(configuration: configuration)
        } throws: { error in
            guard let error = error as? StoreError else { return false }
            return error.kind == .unavailable && error.description.contains("127.0.0.1:\(configuration.port)")
                && !error.description.contains("hunter2")
        }
        // Alone this takes milliseconds; beside the whole parallel suite on 2 cores it has taken 32 s.
        // The bound only tells the direct probe from the pool's minute of retries.
        #expect(
            ContinuousClock.now - started < .seconds(55), "refused by the probe, not after the pool's minute of retries"
        )
    }

    static var serverAvailable: Bool { StoreKind.underTest.contains(.postgres) }

    /// After `close()` (or when the pool is gone), calls fail as unavailable instead of hanging.
    @Test(.enabled(if: serverAvailable)) func aClosedStoreAnswersUnavailable() async throws {
        try await withFixture(.postgres) { fixture in
            let store = try await fixture.openPostgres()
            try await store.close()
            try await store.close()  // twice is fine
            await #expect {
                _ = try await store.feedbackHead(user: "ann")
            } throws: { error in
                (error as? StoreError)?.kind == .unavailable
            }
        }
    }

    @Test(.enabled(if: serverAvailable)) func aMissingDatabaseIsNamed() async throws {
        let fixture = try StoreFixture(.postgres)
        var configuration = try #require(fixture.postgresConfiguration)
        configuration.database = "no_such_database_here"
        configuration.password = "hunter2-secret"
        await #expect {
            try await PostgresStore(configuration: configuration)
        } throws: { error in
            "\(error)".contains("no_such_database_here") && !"\(error)".contains("hunter2")
        }
    }

    @Test(.enabled(if: serverAvailable)) func migrationsAreRecordedOnce() async throws {
        try await withFixture(.postgres) { fixture in
            let one = try await fixture.openPostgres()
            try await one.close()
            let two = try await fixture.openPostgres()
            #expect(try await two.appliedMigrations() == PostgresStore.migrations.map(\.version))
            try await two.close()
        }
    }

    /// Two processes starting on a new store at once: both open (migrations under an advisory
    /// lock), the schema is made once.
    @Test(.enabled(if: serverAvailable)) func twoProcessesOpeningANewStoreTogetherBothWork() async throws {
        try await withFixture(.postgres) { fixture in
            let stores = try await withThrowingTaskGroup(of: (any RecommendationStore).self) { group in
                for _ in 0..<2 { group.addTask { try await fixture.open() } }
                var stores: [any RecommendationStore] = []
                for try await store in group { stores.append(store) }
                return stores
            }
            for (n, store) in stores.enumerated() {
                _ = try await store.append(FeedbackBatch(rows: [row("u\(n)", "1", 1)]))
            }
            #expect(try await stores[0].counts().feedback == 2)
            let postgres = try await fixture.openPostgres()
            #expect(try await postgres.appliedMigrations() == PostgresStore.migrations.map(\.version))
            try await postgres.close()
            for store in stores { try await store.close() }
        }
    }

    /// A port on loopback that nothing listens on (bound, then released).
    static func closedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw StoreError("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Blocks `wait()` callers, ignoring cancellation, until `open()`.
final class Gate: @unchecked Sendable {
    private let lock = NSLock()
    private var opened = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    var isOpen: Bool { lock.withLock { opened } }

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = lock.withLock { () -> Bool in
                if opened { return true }
                waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func open() {
        let resumed = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
            opened = true
            defer { waiting = [] }
            return waiting
        }
        for continuation in resumed { continuation.resume() }
    }
}
