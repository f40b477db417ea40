import Dispatch
import Foundation
import MetaRecPostgresStore
import MetaRecStore

/// Appending a feedback batch of 5 rows with the state adapted from it (one transaction, what
/// a `POST /feedback` costs the store), sequentially and from 4 concurrent tasks (4 users), on
/// SQLite (a temporary file) and on PostgreSQL when METAREC_BENCH_POSTGRES_URL (or
/// METAREC_TEST_POSTGRES_URL) names a server: Scripts/postgres.sh starts one on loopback.
func runStoreBenchmarks() async {
    print("== store: append of a 5-row batch with its adapted state (64 floats), per call")
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-bench-store-\(getpid())")
    defer { try? FileManager.default.removeItem(at: directory) }
    do {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let sqlite = try SQLiteStore(path: directory.appendingPathComponent("bench.sqlite").path)
        try await benchmarkAppends(sqlite, name: "sqlite")
        try await sqlite.close()
    } catch {
        print("sqlite: failed: \(error)")
    }
    let environment = ProcessInfo.processInfo.environment
    guard let url = environment["METAREC_BENCH_POSTGRES_URL"] ?? environment["METAREC_TEST_POSTGRES_URL"] else {
        print("postgres: skipped (set METAREC_BENCH_POSTGRES_URL; Scripts/postgres.sh start DIR PORT prints one)")
        return
    }
    do {
        var configuration = try PostgresStore.Configuration(url: url, password: environment["PGPASSWORD"])
        configuration.schema = "bench_\(getpid())"
        let store = try await PostgresStore(configuration: configuration)
        try await benchmarkAppends(store, name: "postgres")
        try await store.dropSchema()
        try await store.close()
    } catch {
        print("postgres: failed: \(error)")
    }
}

private func benchmarkAppends(_ store: any RecommendationStore, name: String) async throws {
    let state = (0..<64).map { Float($0) / 64 }
    /// One user's next batch, based on the head the previous one returned.
    @Sendable func append(user: String, basedOn: Int64, round: Int) async throws -> Int64 {
        let outcome = try await store.append(
            FeedbackBatch(
                rows: (0..<5).map {
                    StoredFeedback(user: user, item: "\(round)-\($0)", value: Float($0), timestamp: Date())
                },
                states: [user: AdaptedFromBatch(basedOn: basedOn, modelVersion: "bench", values: state)]))
        guard case .stored(let heads, _) = outcome, let head = heads[user] else {
            throw StoreError("benchmark batch was not stored")
        }
        return head
    }
    /// Latencies of `count` appends for one user, in seconds.
    @Sendable func run(user: String, count: Int) async throws -> [Double] {
        var head: Int64 = 0
        var samples: [Double] = []
        for round in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            head = try await append(user: user, basedOn: head, round: round)
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return samples
    }
    _ = try await run(user: "warm-up", count: 20)
    let started = DispatchTime.now().uptimeNanoseconds
    let sequential = try await run(user: "alone", count: 300)
    let sequentialSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    report(name + " sequential   ", sequential, seconds: sequentialSeconds)

    let concurrentStart = DispatchTime.now().uptimeNanoseconds
    let concurrent = try await withThrowingTaskGroup(of: [Double].self) { group in
        for task in 0..<4 { group.addTask { try await run(user: "user-\(task)", count: 150) } }
        var all: [Double] = []
        for try await samples in group { all += samples }
        return all
    }
    report(
        name + " 4 concurrent ", concurrent,
        seconds: Double(DispatchTime.now().uptimeNanoseconds - concurrentStart) / 1e9)
}

private func report(_ label: String, _ samples: [Double], seconds: Double) {
    let sorted = samples.sorted()
    guard !sorted.isEmpty else { return }
    let p = { (q: Double) in sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] * 1000 }
    print(
        "\(label) p50 \(format(p(0.5), 2)) ms  p99 \(format(p(0.99), 2)) ms  "
            + "\(format(Double(sorted.count) / seconds, 0)) batches/s  (\(sorted.count) batches)")
}
