import Foundation
import Hummingbird
import HummingbirdTesting
import MetaRecCore
import MetaRecModels
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// What a feedback batch means, on a click model and a rating model: validated whole before
/// anything is written, retried safely with an `Idempotency-Key`, a re-rated item adapted at its
/// latest value; and several processes on one store answering as one.
@Suite struct FeedbackSemanticsTests {
    static let token = "test-admin-token"
    let admin: HTTPFields = [.authorization: "Bearer \(Self.token)", .contentType: "application/json"]
    let ids = ServingFixture.experiment.dataset.itemIDs

    func service(bundle: URL, store path: String, refresh: Duration = .zero) async throws -> RecommendationService {
        var options = ServiceOptions()
        options.refreshInterval = refresh
        let bytes = try Data(contentsOf: bundle)
        return try await RecommendationService(
            recommender: Recommender(bundle: ModelBundle(bytes: bytes, source: bundle)), store: SQLiteStore(path: path),
            options: options, bundleBytes: bytes)
    }

    func storePath() -> String {
        ServingFixture.temporaryDirectory().appendingPathComponent("store.sqlite").path
    }

    func app(_ service: RecommendationService) -> some ApplicationProtocol {
        RecommendationServer.application(service: service, adminToken: Self.token)
    }

    func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any] ?? [:]
    }

    func post(
        _ client: some TestClientProtocol, _ body: String, key: String? = nil, headers extra: HTTPFields? = nil
    ) async throws -> TestResponse {
        var headers = extra ?? admin
        if let key { headers[.idempotencyKey] = key }
        return try await client.execute(
            uri: "/v1/feedback", method: .post, headers: headers, body: ByteBuffer(string: body)
        ) { $0 }
    }

    /// The user's ranked list as (id, score).
    func ranked(_ client: some TestClientProtocol, _ user: String, k: Int = 20) async throws -> [(String, Double)] {
        try await client.execute(uri: "/v1/users/\(user)/recommendations?k=\(k)&includeSeen=true", method: .get) {
            response in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let items = json(response)["items"] as? [[String: Any]] ?? []
            return items.map { ($0["id"] as? String ?? "", $0["score"] as? Double ?? .nan) }
        }
    }

    func rows(_ entries: [(user: String, item: String, value: String)]) -> String {
        #"{"feedback": ["#
            + entries.map { #"{"user": "\#($0.user)", "item": "\#($0.item)", \#($0.value)}"# }.joined(separator: ",")
            + "]}"
    }

    // MARK: - Clicks

    @Test func aClickModelTakesClicksSkipsAndRatings() async throws {
        let service = try await service(bundle: try ServingFixture.clickBundle(), store: storePath())
        let three = Array(ids.prefix(3))
        try await app(service).test(.router) { client in
            let clicks = rows(three.map { ("liker", $0, #""value": true"#) })
            #expect(try await post(client, clicks).status == .ok)
            let ones = rows(three.map { ("liker-by-number", $0, #""value": 1"#) })
            #expect(try await post(client, ones).status == .ok)
            let skips = rows(three.map { ("skipper", $0, #""value": false"#) })
            #expect(try await post(client, skips).status == .ok)
            let ratings = rows(three.map { ("rater", $0, #""rating": 5"#) })
            #expect(try await post(client, ratings).status == .ok)

            let liked = try await ranked(client, "liker", k: ids.count)
            let skipped = try await ranked(client, "skipper", k: ids.count)
            let clickedScores = Dictionary(uniqueKeysWithValues: liked)
            let skippedScores = Dictionary(uniqueKeysWithValues: skipped)
            for item in three {
                let (up, down) = (try #require(clickedScores[item]), try #require(skippedScores[item]))
                #expect(up > down + 0.05, "a clicked item scores above the same item skipped: \(up) vs \(down)")
            }
            #expect(
                try await ranked(client, "liker-by-number", k: ids.count).map(\.1) == liked.map(\.1),
                "1 is a click, as true is")
            #expect(
                try await ranked(client, "rater", k: ids.count).map(\.1) == liked.map(\.1),
                "a rating of 5 >= 4 is a click")

            let five = try await post(client, rows([("someone", three[0], #""value": 5"#)]))
            #expect(five.status == .badRequest)
            #expect((json(five)["error"] as? String ?? "").contains("0 (skip) or 1 (click)"))
            let low = rows([("low-rater", three[0], #""rating": 2"#)])
            #expect(try await post(client, low).status == .ok)
            let stored = try await service.store.feedbackLog(user: "low-rater")
            #expect(stored.map(\.value) == [0], "a rating below the threshold is stored as a skip")
        }
    }

    @Test func aRatingModelRefusesTrueAndFalse() async throws {
        let service = try await service(bundle: try ServingFixture.covarianceBundle().1, store: storePath())
        try await app(service).test(.router) { client in
            let response = try await post(client, rows([("ann", ids[0], #""value": true"#)]))
            #expect(response.status == .badRequest && (json(response)["error"] as? String ?? "").contains("ratings"))
            let both = try await post(client, rows([("ann", ids[0], #""value": 4, "rating": 4"#)]))
            #expect(both.status == .badRequest)
            #expect(try await service.store.counts().feedback == 0)
        }
    }

    // MARK: - All or nothing

    @Test func aRefusedBatchStoresNothingAndLeavesTheUserWorking() async throws {
        let service = try await service(bundle: try ServingFixture.covarianceBundle().1, store: storePath())
        try await app(service).test(.router) { client in
            let mixed = rows([("ann", ids[0], #""value": 4"#), ("ann", ids[1], #""value": 50"#)])
            let refused = try await post(client, mixed)
            #expect(refused.status == .badRequest)
            #expect((json(refused)["error"] as? String ?? "").contains("feedback[1].value"))
            #expect(try await service.store.counts().feedback == 0, "nothing the answer refused is stored")

            let unknown = try await post(
                client, rows([("ann", ids[0], #""value": 4"#), ("ann", "nope", #""value": 4"#)]))
            #expect(unknown.status == .notFound && (json(unknown)["error"] as? String ?? "").contains("nope"))

            _ = try await client.execute(
                uri: "/v1/items/\(ids[2])", method: .patch, headers: admin,
                body: ByteBuffer(string: #"{"hidden": true}"#)
            ) { #expect($0.status == .ok) }
            let hidden = try await post(
                client, rows([("ann", ids[0], #""value": 4"#), ("ann", ids[2], #""value": 4"#)]))
            #expect(hidden.status == .conflict && (json(hidden)["error"] as? String ?? "").contains("hidden"))
            #expect(try await service.store.counts().feedback == 0)

            let valid = try await post(
                client, rows([("ann", ids[0], #""value": 4"#), ("ann", ids[1], #""value": 2"#)]))
            #expect(valid.status == .ok, "the user is not broken by the refused batches")
            #expect(try await service.store.feedbackLog(user: "ann").map(\.item) == [ids[0], ids[1]])
            let state = try #require(try await service.store.adaptedState(user: "ann"))
            #expect(state.lastSequence == (try await service.store.feedbackHead(user: "ann")))
        }
    }

    // MARK: - Retries

    @Test func aRetryWithTheSameKeyStoresNothingAndAnotherBodyIs409() async throws {
        let service = try await service(bundle: try ServingFixture.covarianceBundle().1, store: storePath())
        try await app(service).test(.router) { client in
            let batch = rows([("ann", ids[0], #""value": 5"#), ("ann", ids[1], #""value": 3"#)])
            let first = try await post(client, batch, key: "batch-1")
            #expect(first.status == .ok && first.headers[.idempotentReplayed] == nil)
            let retry = try await post(client, batch, key: "batch-1")
            #expect(retry.status == .ok && retry.headers[.idempotentReplayed] == "true")
            #expect(String(buffer: retry.body) == String(buffer: first.body), "the first answer, given again")
            #expect(try await service.store.counts().feedback == 2, "stored once")

            let other = try await post(client, rows([("ann", ids[2], #""value": 1"#)]), key: "batch-1")
            #expect(other.status == .conflict && (json(other)["error"] as? String ?? "").contains("Idempotency-Key"))
            #expect(try await service.store.counts().feedback == 2)
            #expect(try await post(client, batch).status == .ok, "without a key a repeat is a new batch")
            #expect(try await service.store.counts().feedback == 4)
        }
    }

    // MARK: - Re-rating

    @Test func aReRatedItemAdaptsAtItsLatestValueAndTheLogKeepsBoth() async throws {
        let service = try await service(bundle: try ServingFixture.covarianceBundle().1, store: storePath())
        try await app(service).test(.router) { client in
            #expect(try await post(client, rows([("ann", ids[0], #""value": 1"#)])).status == .ok)
            #expect(try await post(client, rows([("ann", ids[0], #""value": 5"#)])).status == .ok)
            #expect(try await post(client, rows([("bob", ids[0], #""value": 5"#)])).status == .ok)
            #expect(
                try await post(client, rows([("cy", ids[0], #""value": 1"#), ("cy", ids[0], #""value": 5"#)])).status
                    == .ok)
            #expect(try await service.store.feedbackLog(user: "ann").map(\.value) == [1, 5])
            let bob = try await ranked(client, "bob").map(\.1)
            #expect(try await ranked(client, "ann").map(\.1) == bob, "ann is adapted on 5 alone, as bob is")
            #expect(try await ranked(client, "cy").map(\.1) == bob, "within a batch too, the later value counts")
        }
    }

    // MARK: - Several processes

    @Test func twoProcessesOnOneStoreAnswerAsOne() async throws {
        let path = storePath()
        let bundle = try ServingFixture.covarianceBundle().1
        let first = try await service(bundle: bundle, store: path)
        let second = try await service(bundle: bundle, store: path)
        try await app(first).test(.router) { a in
            try await app(second).test(.router) { b in
                let item = #"{"id": "brand-new", "title": "Brand new", "features": {}}"#
                _ = try await a.execute(uri: "/v1/items", method: .post, headers: admin, body: ByteBuffer(string: item))
                {
                    #expect($0.status == .created, "\(String(buffer: $0.body))")
                }
                _ = try await b.execute(uri: "/v1/items/brand-new", method: .get) {
                    #expect($0.status == .ok, "an item added through one process is served by the other")
                }
                #expect(try await post(b, rows([("ann", "brand-new", #""value": 5"#)])).status == .ok)
                _ = try await b.execute(
                    uri: "/v1/items/\(ids[0])", method: .patch, headers: admin,
                    body: ByteBuffer(string: #"{"hidden": true}"#)
                ) { #expect($0.status == .ok) }
                #expect(try await ranked(a, "dee", k: ids.count + 1).contains { $0.0 == ids[0] } == false)

                #expect(try await post(a, rows([("ann", ids[1], #""value": 1"#)])).status == .ok)
                #expect(try await ranked(b, "ann").map(\.1) == (try await ranked(a, "ann").map(\.1)))

                let session = try await a.execute(uri: "/v1/sessions", method: .post) { json($0) }
                let user = try #require(session["user"] as? String)
                let token = try #require(session["token"] as? String)
                let visitor: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
                let own = try await post(b, rows([(user, ids[1], #""value": 4"#)]), headers: visitor)
                #expect(own.status == .ok, "a session from one process is accepted by the other")
            }
        }
    }

    /// The bound on staleness: a process looks at the store at most every refresh interval, and
    /// serves another process's change at its first request after that.
    @Test func anotherProcessServesAChangeWithinTheRefreshInterval() async throws {
        let path = storePath()
        let bundle = try ServingFixture.covarianceBundle().1
        let writer = try await service(bundle: bundle, store: path)
        let reader = try await service(bundle: bundle, store: path, refresh: .seconds(1))
        try await reader.synchronise()
        let start = ContinuousClock.now
        _ = try await writer.addItem(id: "late", title: "Late", features: [:])
        try await reader.synchronise()
        if ContinuousClock.now - start < .milliseconds(800) {
            #expect(reader.recommender.item("late") == nil, "not looked for again within the interval")
        }
        try await Task.sleep(for: .milliseconds(1100))
        try await reader.synchronise()
        #expect(reader.recommender.item("late") != nil, "served at the first request after the interval")
    }

    /// Two processes asked at once to add one id with different titles: exactly one request adds
    /// it, every other is told of the conflict, and both processes serve the one that was added.
    @Test func concurrentAdditionsOfOneIdThroughTwoProcessesAddItOnce() async throws {
        let path = storePath()
        let bundle = try ServingFixture.covarianceBundle().1
        let processes = [
            try await service(bundle: bundle, store: path), try await service(bundle: bundle, store: path),
        ]
        let outcomes = try await withThrowingTaskGroup(of: (String, Bool?).self) { group in
            for request in 0..<8 {
                group.addTask {
                    let title = "title \(request)"
                    switch try await processes[request % 2].addItemOnce(id: "contested", title: title, features: [:]) {
                    case .added: return (title, true)
                    case .existing: return (title, false)
                    case nil: return (title, nil)
                    }
                }
            }
            return try await group.reduce(into: [(String, Bool?)]()) { $0.append($1) }
        }
        let winners = outcomes.filter { $0.1 == true }.map(\.0)
        #expect(winners.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0.1 == nil }.count == 7, "different titles are conflicts, not retries")
        for process in processes {
            try await process.synchronise()
            #expect(process.recommender.item("contested")?.title == winners.first)
        }
    }

    @Test func concurrentBatchesForOneUserThroughTwoProcessesLoseNothing() async throws {
        let path = storePath()
        let bundle = try ServingFixture.covarianceBundle().1
        let processes = [
            try await service(bundle: bundle, store: path), try await service(bundle: bundle, store: path),
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in 0..<16 {
                group.addTask {
                    let entries = (0..<3).map { index in
                        StoredFeedback(
                            user: "ann", item: ids[(batch * 3 + index) % ids.count],
                            value: Float(1 + (batch + index) % 5),
                            timestamp: Date())
                    }
                    _ = try await processes[batch % 2].addFeedback(entries)
                }
            }
            try await group.waitForAll()
        }
        let store = processes[0].store
        #expect(try await store.feedbackLog(user: "ann").count == 48)
        // Whichever process reads next serves a state at the log's head, adapted on the latest values.
        let snapshot = try #require(try await processes[1].user("ann"))
        let head = try await store.feedbackHead(user: "ann")
        let stored = try #require(try await store.adaptedState(user: "ann"))
        #expect(stored.lastSequence == head)
        let latest = try await store.latestFeedback(user: "ann", limit: 100)
        let expected = try processes[0].recommender.adapt(
            userFeatures: [:], feedback: latest.map { ($0.item, $0.value) })
        #expect(snapshot.state?.values == expected.values)
    }

    // MARK: - Versions

    @Test func aPublishedVersionIsServedByEveryProcessAndARollbackIsOnePublish() async throws {
        let path = storePath()
        let old = try ServingFixture.covarianceBundle().1
        let new = try ServingFixture.covarianceBundleWithNewItemPrior().2
        let first = try await service(bundle: old, store: path)
        let second = try await service(bundle: old, store: path)
        #expect(
            try await first.addFeedback([StoredFeedback(user: "ann", item: ids[0], value: 5, timestamp: Date())])
                == .stored)
        let oldVersion = first.recommender.bundle.version
        let newBytes = try Data(contentsOf: new)
        let published = try await first.store.publishModel(newBytes, note: "test")
        #expect(published.id == ModelBundle.version(of: newBytes) && published.id != oldVersion)

        for process in [first, second] { try await waitForVersion(published.id, process) }
        let snapshot = try #require(try await second.user("ann"))
        #expect(snapshot.state != nil)
        #expect(try await second.store.adaptedState(user: "ann")?.modelVersion == published.id, "re-adapted lazily")

        _ = try await second.store.publishModel(try Data(contentsOf: old), note: "rollback")
        for process in [first, second] { try await waitForVersion(oldVersion, process) }
        #expect(try await first.store.modelHistory(limit: 10).map(\.id) == [oldVersion, published.id, oldVersion])
    }

    /// Polls (the load runs beside serving) for at most ten seconds.
    func waitForVersion(_ version: String, _ process: RecommendationService) async throws {
        for _ in 0..<200 {
            try await process.synchronise(force: true)
            if process.recommender.bundle.version == version { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("still serving \(process.recommender.bundle.version.prefix(12)), not \(version.prefix(12))")
    }

    @Test func aBundleThatWouldServeNonsenseIsRefusedWhenLoaded() throws {
        let url = try ServingFixture.metaLearnerBundle().2
        // Written past the trainer's own check, with a valid checksum: only the load-time check stands.
        var checkpoint = try Checkpoint(contentsOf: url)
        let name = try #require(checkpoint.tensors.keys.sorted().first { $0.contains("bias") })
        checkpoint.tensors[name]?.values[0] = .nan
        let nan = ServingFixture.temporaryDirectory().appendingPathComponent("nan.safetensors")
        try checkpoint.write(to: nan)
        #expect { try ModelBundle(contentsOf: nan) } throws: { "\($0)".contains("not finite") }

        var steps = try ModelBundle(contentsOf: url)
        steps.archive.header.metaTraining?.adaptation.steps = -1
        let negative = ServingFixture.temporaryDirectory().appendingPathComponent("steps.safetensors")
        try steps.write(to: negative)
        #expect { try ModelBundle(contentsOf: negative) } throws: { "\($0)".contains("inner steps -1") }
    }
}
