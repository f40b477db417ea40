import Crypto
import Foundation
import GRDB
import Testing

@testable import MetaRecPostgresStore
@testable import MetaRecStore

/// The store's contract (RecommendationStore's doc comments), checked on every store: SQLite on
/// a temporary file, and PostgreSQL when METAREC_TEST_POSTGRES_URL is set (required under CI).
@Suite struct StoreTests {
    static let created = Date(timeIntervalSince1970: 1_700_000_000)

    @Test(arguments: StoreKind.underTest)
    func everythingAcknowledgedSurvivesAReopen(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let store = try await fixture.open()
            let created = Self.created
            try await store.saveUser(StoredUser(id: "ann", features: Data(#"{"age":30}"#.utf8), createdAt: created))
            let outcome = try await store.append(
                FeedbackBatch(
                    rows: [row("ann", "10", 5), row("bob", "11", 2), row("ann", "12", 1, at: 1_700_000_005)],
                    states: ["ann": AdaptedFromBatch(basedOn: 0, modelVersion: "v1", values: [1.5, -2, .pi])]))
            let heads = try #require(outcome.stored).heads
            let annHead = try #require(heads["ann"])
            let item = StoredItem(
                id: "new", title: "New", features: Data(#"{"genres":["Drama"]}"#.utf8), addedAt: created)
            let added = try #require(try await store.addItem(item))
            let hidden = try await store.setHidden(item: "10", true)
            let observed = try await store.recordObservation(item: "new", modelVersion: "v1", payload: Data([1, 2]))
            try await store.recordImpressions(user: "ann", items: ["11", "13"], at: created)
            let model = try await store.publishModel(Data("bundle".utf8), note: "first")
            let secret = try await store.sharedSecret(name: "tokens")
            try await store.close()

            let reopened = try await fixture.open()
            let ann = try #require(try await reopened.user("ann"))
            #expect(ann.features == Data(#"{"age":30}"#.utf8) && ann.createdAt == created && ann.feedbackCount == 2)
            #expect(try await reopened.user("bob")?.feedbackCount == 1, "a user first named by a batch is created")
            #expect(try await reopened.feedbackHead(user: "ann") == annHead)
            #expect(try await reopened.latestFeedback(user: "ann", limit: 10).map(\.item) == ["10", "12"])
            #expect(
                try await reopened.latestFeedback(user: "ann", limit: 10).map(\.timestamp) == [
                    created, created.addingTimeInterval(5),
                ])
            #expect(try await reopened.ratedItems(user: "ann") == ["10", "12"])
            #expect(
                try await reopened.adaptedState(user: "ann")
                    == StoredState(modelVersion: "v1", lastSequence: annHead, values: [1.5, -2, .pi]))
            #expect(try await reopened.addedItems() == [item])
            #expect(try await reopened.hiddenItems() == ["10"])
            #expect(try await reopened.catalogueHead() == observed)
            #expect(
                try await reopened.catalogueChanges(after: 0, limit: 10).map(\.sequence) == [added, hidden, observed])
            #expect(try await reopened.currentModel().map { same($0, model) } == true)
            #expect(try await reopened.modelBytes(id: model.id) == Data("bundle".utf8))
            #expect(try await reopened.sharedSecret(name: "tokens") == secret)
            #expect(
                try await reopened.counts()
                    == StoreCounts(users: 2, feedback: 3, addedItems: 1, impressions: 2, adaptedStates: 1))
            #expect(try await reopened.storedStateBytes(user: "ann") == 3 + 2 + 8 + 3 * 4)
            #expect(try await reopened.storedStateBytes(user: "bob") == nil)
            try await reopened.close()
        }
    }

    /// The online learner reads the whole log in sequence order, across users, and moves on from
    /// the last sequence it saw: concurrent appends must never leave a lower sequence behind it.
    @Test(arguments: StoreKind.underTest)
    func theWholeLogIsReadInOrderAcrossUsersAndNothingIsLeftBehind(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let writers = 4
            let batches = 10
            let reader = Task { () -> [StoredFeedback] in
                var seen: [StoredFeedback] = []
                var position: Int64 = 0
                for _ in 0..<2000 {
                    let rows = try await store.feedback(after: position, limit: 7)
                    seen += rows
                    position = rows.last?.sequence ?? position
                    if seen.count == writers * batches * 3 { break }
                    if rows.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                }
                return seen
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for batch in 0..<batches {
                            let rows = (0..<3).map {
                                StoredFeedback(
                                    user: "u\(writer)", item: "\(batch)-\($0)", value: 1, timestamp: Self.created)
                            }
                            _ = try await store.append(FeedbackBatch(rows: rows))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = try await reader.value
            #expect(seen.count == writers * batches * 3, "every row, once, by a reader that only moves forward")
            #expect(seen.map(\.sequence) == seen.map(\.sequence).sorted())
            #expect(Set(seen.map(\.user)) == Set((0..<writers).map { "u\($0)" }))
            #expect(try await store.feedback(after: 0, limit: 0).isEmpty)
        }
    }

    /// One learner at a time: a lease with an owner and an expiry, renewed by its owner, taken over
    /// once it lapses, released by its owner only.
    @Test(arguments: StoreKind.underTest)
    func theLearnerLeaseHasOneOwnerAtATime(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.tryLockLearner(owner: "a", for: 60))
            #expect(try await store.tryLockLearner(owner: "a", for: 60), "its owner renews it")
            #expect(try await store.tryLockLearner(owner: "b", for: 60) == false)
            try await store.releaseLearner(owner: "b")
            #expect(try await store.tryLockLearner(owner: "b", for: 60) == false, "only the owner releases it")
            try await store.releaseLearner(owner: "a")
            #expect(try await store.tryLockLearner(owner: "b", for: 0))
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await store.tryLockLearner(owner: "c", for: 60), "a lapsed lease is taken over")
        }
    }

    @Test(arguments: StoreKind.underTest)
    func savingAUserReplacesFeaturesAndKeepsCreatedAt(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.user("ann") == nil)
            try await store.saveUser(StoredUser(id: "ann", features: Data("{}".utf8), createdAt: Self.created))
            try await store.saveUser(
                StoredUser(
                    id: "ann", features: Data(#"{"age":31}"#.utf8), createdAt: Self.created.addingTimeInterval(99)))
            let ann = try #require(try await store.user("ann"))
            #expect(ann.features == Data(#"{"age":31}"#.utf8))
            #expect(ann.createdAt == Self.created)
            #expect(ann.feedbackCount == 0)
        }
    }

    /// A batch is visible whole or not at all: a reader polling while batches of 10 land never
    /// sees a count that is not a multiple of 10, and a batch that fails leaves nothing behind.
    @Test(arguments: StoreKind.underTest)
    func batchesAreAllOrNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await withThrowingTaskGroup(of: [Int].self) { group in
                group.addTask {
                    for batch in 0..<15 {
                        _ = try await store.append(
                            FeedbackBatch(rows: (0..<10).map { row("ann", "\(batch)-\($0)", 1) }))
                    }
                    return []
                }
                group.addTask {
                    var seen: [Int] = []
                    for _ in 0..<60 { seen.append(try await store.feedbackLog(user: "ann").count) }
                    return seen
                }
                for try await seen in group {
                    #expect(seen.allSatisfy { $0 % 10 == 0 }, "a reader saw part of a batch: \(seen)")
                }
            }
            #expect(try await store.feedbackLog(user: "ann").count == 150)

            // PostgreSQL refuses a NUL character in text, after the batch's user and first rows went
            // in: the whole transaction must roll back. (SQLite may take it: then all of it.)
            let before = try await store.counts()
            let catalogueBefore = try await store.catalogueHead()
            let failing = FeedbackBatch(
                rows: [row("carl", "1", 1), row("carl", "2", 2), row("carl", "bad\u{0}item", 3)],
                idempotency: IdempotentWrite(key: "k-fail", requestDigest: "d", response: Data("r".utf8)),
                states: ["carl": AdaptedFromBatch(basedOn: 0, modelVersion: "v", values: [1])],
                catalogue: [CatalogueChange(kind: .observation, item: "n", modelVersion: "v", payload: Data([7]))])
            do {
                _ = try await store.append(failing)
                #expect(try await store.feedbackLog(user: "carl").count == 3, "stored: all of it")
                #expect(try await store.adaptedState(user: "carl") != nil)
            } catch {
                #expect(try await store.counts() == before, "failed: nothing of it")
                #expect(try await store.catalogueHead() == catalogueBefore)
                #expect(try await store.user("carl") == nil)
                #expect(try await store.adaptedState(user: "carl") == nil)
                // The key was not taken by the failed attempt: a retry of the request goes through.
                let retry = try await store.append(
                    FeedbackBatch(
                        rows: [row("carl", "1", 1)],
                        idempotency: IdempotentWrite(key: "k-fail", requestDigest: "d", response: Data("r".utf8))))
                #expect(retry.stored != nil)
            }
            if kind == .postgres {
                #expect(try await store.feedbackLog(user: "carl").count == 1, "refused, then retried")
            }
        }
    }

    @Test(arguments: StoreKind.underTest)
    func aRetriedBatchIsReplayedAndAReusedKeyRefusedStoringNothing(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let write = IdempotentWrite(key: "key-1", requestDigest: "digest-a", response: Data(#"{"ok":1}"#.utf8))
            let batch = FeedbackBatch(
                rows: [row("ann", "1", 4), row("ann", "2", 5)], idempotency: write,
                states: ["ann": AdaptedFromBatch(basedOn: 0, modelVersion: "v", values: [1])])
            let first = try await store.append(batch)
            #expect(first.stored?.heads.keys.sorted() == ["ann"])
            let afterFirst = try await store.counts()
            let state = try await store.adaptedState(user: "ann")

            // The same request again, even with other rows and a state that would apply: the first answer.
            var again = batch
            again.rows = [row("ann", "3", 1)]
            again.states = ["ann": AdaptedFromBatch(basedOn: 2_000_000, modelVersion: "w", values: [9])]
            #expect(try await store.append(again) == .replayed(response: Data(#"{"ok":1}"#.utf8)))
            #expect(try await store.counts() == afterFirst)
            #expect(try await store.adaptedState(user: "ann") == state)

            // The same key with another request: refused, nothing written.
            var other = batch
            other.idempotency = IdempotentWrite(key: "key-1", requestDigest: "digest-b", response: Data())
            other.rows = [row("bob", "1", 1)]
            #expect(try await store.append(other) == .keyReused)
            #expect(try await store.counts() == afterFirst)
            #expect(try await store.user("bob") == nil)

            // Another key is a new write.
            var fresh = batch
            fresh.idempotency = IdempotentWrite(key: "key-2", requestDigest: "digest-a", response: Data())
            fresh.states = [:]
            #expect(try await store.append(fresh).stored != nil)
            #expect(try await store.feedbackLog(user: "ann").count == 4)
        }
    }

    /// What a batch taught about new items is logged with it, in the same transaction: once,
    /// and not again when the batch is replayed.
    @Test(arguments: StoreKind.underTest)
    func aBatchLogsItsCatalogueChangesWithIt(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = try await store.recordObservation(item: "n0", modelVersion: "v", payload: Data([0]))
            let batch = FeedbackBatch(
                rows: [row("ann", "n1", 5)],
                idempotency: IdempotentWrite(key: "obs", requestDigest: "d", response: Data()),
                catalogue: [
                    CatalogueChange(kind: .observation, item: "n1", modelVersion: "v", payload: Data([1])),
                    CatalogueChange(kind: .observation, item: "n2", modelVersion: "v", payload: Data([2])),
                ])
            #expect(try await store.append(batch).stored != nil)
            let changes = try await store.catalogueChanges(after: first, limit: 10)
            #expect(changes.map(\.item) == ["n1", "n2"])
            #expect(changes.map(\.payload) == [Data([1]), Data([2])])
            #expect(changes.allSatisfy { $0.kind == .observation && $0.modelVersion == "v" && $0.sequence > first })
            #expect(try await store.append(batch) == .replayed(response: Data()))
            #expect(try await store.catalogueChanges(after: first, limit: 10).count == 2, "a replay logs nothing")
            // Changes without rows still land.
            _ = try await store.append(
                FeedbackBatch(rows: [], catalogue: [CatalogueChange(kind: .observation, item: "n3", modelVersion: "v")])
            )
            #expect(try await store.catalogueChanges(after: first, limit: 10).map(\.item) == ["n1", "n2", "n3"])
        }
    }

    @Test(arguments: StoreKind.underTest)
    func theLatestValuePerItemIsReadAndTheWholeLogKept(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.feedbackHead(user: "ann") == 0)
            #expect(try await store.latestFeedback(user: "ann", limit: 10).isEmpty)
            _ = try await store.append(
                FeedbackBatch(rows: [row("ann", "a", 1, at: 1), row("ann", "b", 2, at: 2), row("bob", "a", 5, at: 3)]))
            _ = try await store.append(FeedbackBatch(rows: [row("ann", "c", 3, at: 4), row("ann", "a", 4, at: 5)]))
            let outcome = try await store.append(FeedbackBatch(rows: [row("ann", "b", 0, at: 6)]))

            let log = try await store.feedbackLog(user: "ann")
            #expect(log.map(\.item) == ["a", "b", "c", "a", "b"], "every row, re-ratings included, oldest first")
            #expect(log.map(\.value) == [1, 2, 3, 4, 0])
            #expect(zip(log, log.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
            #expect(log.allSatisfy { $0.user == "ann" })
            #expect(try await store.feedbackHead(user: "ann") == log.last?.sequence)
            #expect(outcome.stored?.heads == ["ann": try #require(log.last?.sequence)])

            let latest = try await store.latestFeedback(user: "ann", limit: 10)
            #expect(latest.map(\.item) == ["c", "a", "b"], "each item once, at its latest sequence, oldest first")
            #expect(latest.map(\.value) == [3, 4, 0])
            #expect(latest.map(\.sequence) == Array(log.suffix(3).map(\.sequence)))
            #expect(latest.map(\.timestamp) == [4, 5, 6].map { Date(timeIntervalSince1970: $0) })
            #expect(try await store.latestFeedback(user: "ann", limit: 2).map(\.item) == ["a", "b"], "the 2 newest")
            #expect(try await store.latestFeedback(user: "bob", limit: 10).map(\.value) == [5])
            #expect(try await store.ratedItems(user: "ann") == ["a", "b", "c"])
            #expect(try await store.user("ann")?.feedbackCount == 5)

            // Floats come back bit for bit.
            // (Not -0.0: SQLite keeps a REAL -0.0 as 0; a rating or click of -0 means nothing.)
            let values: [Float] = [1e-45, .greatestFiniteMagnitude, -.pi, 123.456, .infinity, -1e-38]
            _ = try await store.append(
                FeedbackBatch(rows: values.enumerated().map { row("dee", "\($0.offset)", $0.element) }))
            #expect(
                try await store.feedbackLog(user: "dee").map(\.value.bitPattern) == values.map(\.bitPattern))
        }
    }

    @Test(arguments: StoreKind.underTest)
    func adaptedStatesAreCompareAndSetOnTheLogSequence(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let v5 = StoredState(modelVersion: "v1", lastSequence: 5, values: [1, 2])
            #expect(try await store.saveAdaptedState(v5, user: "ann"))
            #expect(
                try await store.saveAdaptedState(
                    StoredState(modelVersion: "v1", lastSequence: 3, values: [9]), user: "ann")
                    == false, "an older state of the same version is refused")
            #expect(try await store.adaptedState(user: "ann") == v5)
            let again = StoredState(modelVersion: "v1", lastSequence: 5, values: [3])
            #expect(try await store.saveAdaptedState(again, user: "ann"), "the same sequence may be rewritten")
            let other = StoredState(modelVersion: "v2", lastSequence: 1, values: [4])
            #expect(try await store.saveAdaptedState(other, user: "ann"), "another model version replaces it")
            #expect(try await store.adaptedState(user: "ann") == other)
            let exact: [Float] = [-0.0, .leastNonzeroMagnitude, .nan, -.infinity, 0.1]
            #expect(
                try await store.saveAdaptedState(
                    StoredState(modelVersion: "v2", lastSequence: 2, values: exact), user: "ann"))
            #expect(
                try await store.adaptedState(user: "ann")?.values.map(\.bitPattern) == exact.map(\.bitPattern))

            // A batch based on the current head saves its state at the new head.
            let head = try await store.feedbackHead(user: "bob")
            let first = try await store.append(
                FeedbackBatch(
                    rows: [row("bob", "1", 1), row("bob", "2", 1)],
                    states: ["bob": AdaptedFromBatch(basedOn: head, modelVersion: "v1", values: [1])]))
            let newHead = try #require(first.stored?.heads["bob"])
            #expect(first.stored?.statesSaved == ["bob"])
            #expect(
                try await store.adaptedState(user: "bob")
                    == StoredState(modelVersion: "v1", lastSequence: newHead, values: [1]))

            // A batch based on a stale head stores its rows but not its state.
            let stale = try await store.append(
                FeedbackBatch(
                    rows: [row("bob", "3", 1)],
                    states: ["bob": AdaptedFromBatch(basedOn: head, modelVersion: "v1", values: [2])]))
            #expect(stale.stored?.statesSaved == [])
            #expect(try await store.feedbackLog(user: "bob").count == 3)
            #expect(try await store.adaptedState(user: "bob")?.values == [1])
            #expect(try await store.feedbackHead(user: "bob") == stale.stored?.heads["bob"])

            // Only the users whose head matched get their state, in a batch naming several.
            let bobHead = try await store.feedbackHead(user: "bob")
            let mixed = try await store.append(
                FeedbackBatch(
                    rows: [row("bob", "4", 1), row("cat", "1", 1)],
                    states: [
                        "bob": AdaptedFromBatch(basedOn: bobHead, modelVersion: "v1", values: [3]),
                        "cat": AdaptedFromBatch(basedOn: 77, modelVersion: "v1", values: [4]),
                    ]))
            #expect(mixed.stored?.statesSaved == ["bob"])
            #expect(try await store.adaptedState(user: "cat") == nil)
            #expect(try await store.adaptedState(user: "bob")?.lastSequence == mixed.stored?.heads["bob"])
        }
    }

    /// Many writers for one user, each adapting from the head it read: every row lands once, and
    /// every state that was saved reflects exactly the log up to its `lastSequence` (no other
    /// writer's rows in between). On PostgreSQL half the writers use a second store instance,
    /// as a second serving process would.
    @Test(arguments: StoreKind.underTest)
    func concurrentAppendsForOneUserLandOnceWithAConsistentHead(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let first = try await fixture.open()
            let second = kind == .postgres ? try await fixture.open() : first
            // 8 writers, each appending 8 batches in turn: 64 batches of 5 rows, ids "writer.round-n".
            let results = try await withThrowingTaskGroup(of: [(String, Int64, AppendOutcome)].self) { group in
                for writer in 0..<8 {
                    let store = writer % 2 == 0 ? first : second
                    group.addTask {
                        var results: [(String, Int64, AppendOutcome)] = []
                        for round in 0..<8 {
                            let batch = "\(writer).\(round)"
                            let basedOn = try await store.feedbackHead(user: "ann")
                            let outcome = try await store.append(
                                FeedbackBatch(
                                    rows: (0..<5).map { row("ann", "\(batch)-\($0)", Float(writer)) },
                                    states: [
                                        "ann": AdaptedFromBatch(
                                            basedOn: basedOn, modelVersion: "v", values: [Float(writer), Float(round)])
                                    ]))
                            results.append((batch, basedOn, outcome))
                        }
                        return results
                    }
                }
                var results: [(String, Int64, AppendOutcome)] = []
                for try await part in group { results += part }
                return results
            }
            let log = try await first.feedbackLog(user: "ann")
            #expect(log.count == 320)
            #expect(Set(log.map(\.item)).count == 320, "every row exactly once")
            #expect(Set(log.map(\.sequence)).count == 320)
            let head = try await second.feedbackHead(user: "ann")
            #expect(head == log.last?.sequence)

            var saved = 0
            for (batch, basedOn, outcome) in results {
                let stored = try #require(outcome.stored)
                let batchHead = try #require(stored.heads["ann"])
                let mine = log.filter { $0.item.hasPrefix("\(batch)-") }
                #expect(mine.map(\.sequence).max() == batchHead, "the head returned is the batch's last row")
                guard stored.statesSaved.contains("ann") else { continue }
                saved += 1
                // A saved state adapted from the log up to basedOn plus its own rows: nothing else
                // may lie in between.
                let between = log.filter { $0.sequence > basedOn && $0.sequence <= batchHead }
                #expect(between.map(\.item) == mine.map(\.item), "batch \(batch)'s state skipped other rows")
            }
            #expect(saved >= 1)
            let state = try #require(try await first.adaptedState(user: "ann"))
            let values = state.values.map { Int($0) }
            let own = log.filter { $0.item.hasPrefix("\(values.first ?? -1).\(values.last ?? -1)-") }
            #expect(own.last?.sequence == state.lastSequence, "the stored state is the one its batch saved")
            #expect(state.lastSequence <= head)
            if kind == .postgres { try await second.close() }
            try await first.close()
        }
    }

    /// An id already stored is not added again: nothing is written or logged, the first item stands.
    @Test(arguments: StoreKind.underTest)
    func anItemIdIsAddedOnce(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = StoredItem(
                id: "n1", title: "First", features: Data(#"{"year":1999}"#.utf8), addedAt: Self.created)
            var second = first
            second.title = "Second"
            second.features = Data("{}".utf8)
            let added = try await store.addItem(first)
            #expect(added != nil)
            #expect(try await store.addItem(second) == nil)
            #expect(try await store.addedItems() == [first])
            #expect(try await store.catalogueChanges(after: 0, limit: 10).map(\.sequence) == [added!])
        }
    }

    @Test(arguments: StoreKind.underTest)
    func theCatalogueChangeLogIsOrderedAndReadAfterASequence(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.catalogueHead() == 0)
            #expect(try await store.catalogueChanges(after: 0, limit: 10).isEmpty)
            let item = StoredItem(
                id: "n1", title: "New one", features: Data(#"{"year":1999}"#.utf8), addedAt: Self.created)
            let added = try #require(try await store.addItem(item))
            let hidden = try await store.setHidden(item: "n1", true)
            let observed = try await store.recordObservation(item: "n1", modelVersion: "v7", payload: Data([0, 255]))
            let shown = try await store.setHidden(item: "n1", false)
            let second = StoredItem(id: "n2", title: "Two", features: Data("{}".utf8), addedAt: Self.created)
            let addedSecond = try #require(try await store.addItem(second))
            #expect(
                [added, hidden, observed, shown, addedSecond] == [added, hidden, observed, shown, addedSecond].sorted())
            #expect(Set([added, hidden, observed, shown, addedSecond]).count == 5)

            let changes = try await store.catalogueChanges(after: 0, limit: 100)
            #expect(changes.map(\.kind) == [.added, .hidden, .observation, .shown, .added])
            #expect(changes.map(\.sequence) == [added, hidden, observed, shown, addedSecond])
            #expect(changes.map(\.item) == ["n1", "n1", "n1", "n1", "n2"])
            #expect(changes[2].modelVersion == "v7" && changes[2].payload == Data([0, 255]))
            let payload = try #require(
                try JSONSerialization.jsonObject(with: changes[0].payload) as? [String: Any], "added: the item as JSON")
            #expect(payload["id"] as? String == "n1")
            #expect(payload["title"] as? String == "New one")
            #expect(
                try await store.catalogueChanges(after: hidden, limit: 100).map(\.sequence) == [
                    observed, shown, addedSecond,
                ])
            #expect(try await store.catalogueChanges(after: hidden, limit: 1).map(\.sequence) == [observed])
            #expect(try await store.catalogueChanges(after: addedSecond, limit: 10).isEmpty)
            #expect(try await store.catalogueHead() == addedSecond)
            #expect(try await store.hiddenItems().isEmpty)
            #expect(try await store.addedItems() == [item, second], "in the order they were added")
        }
    }

    /// A process polling `after: last` while others write never misses a change: each change
    /// is visible before any later-numbered one.
    @Test(arguments: StoreKind.underTest)
    func aPollerSeesEveryCatalogueChangeOnce(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let writerStore = try await fixture.open()
            let pollerStore = kind == .postgres ? try await fixture.open() : writerStore
            let seen = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for writer in 0..<3 {
                    group.addTask {
                        for n in 0..<15 {
                            _ = try await writerStore.recordObservation(
                                item: "i\(writer)", modelVersion: "v", payload: Data([UInt8(n)]))
                        }
                        return []
                    }
                }
                group.addTask {
                    var seen: [Int64] = []
                    var last: Int64 = 0
                    // Polls until the writers are done (a generous bound only against a hang: a
                    // loaded CI machine takes minutes here).
                    let deadline = ContinuousClock.now + .seconds(600)
                    while ContinuousClock.now < deadline, !Task.isCancelled {
                        let changes = try await pollerStore.catalogueChanges(after: last, limit: 7)
                        seen += changes.map(\.sequence)
                        last = changes.last?.sequence ?? last
                        // Once all 45 are in, one last poll: a change skipped by now stays skipped.
                        if changes.isEmpty, try await pollerStore.catalogueChanges(after: 0, limit: 100).count == 45 {
                            seen += try await pollerStore.catalogueChanges(after: last, limit: 100).map(\.sequence)
                            break
                        }
                    }
                    return seen
                }
                var seen: [Int64] = []
                for try await part in group { seen += part }
                return seen
            }
            let all = try await writerStore.catalogueChanges(after: 0, limit: 100).map(\.sequence)
            #expect(all.count == 45)
            #expect(seen == all, "the poller saw every change, once, in order")
            if kind == .postgres { try await pollerStore.close() }
            try await writerStore.close()
        }
    }

    @Test(arguments: StoreKind.underTest)
    func publishingMakesAVersionCurrentAndPublishingAgainRollsBack(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.currentModel() == nil)
            #expect(try await store.modelHistory(limit: 10).isEmpty)
            let bytesA = Data((0..<1000).map { UInt8($0 % 251) })
            let bytesB = Data("model b".utf8)
            let a = try await store.publishModel(bytesA, note: "first")
            #expect(a.id == SHA256.hash(data: bytesA).map { String(format: "%02x", $0) }.joined())
            #expect(a.byteCount == 1000 && a.note == "first")
            #expect(try await store.currentModel().map { same($0, a) } == true)
            let b = try await store.publishModel(bytesB, note: "second")
            #expect(b.sequence > a.sequence)
            #expect(try await store.currentModel()?.id == b.id)
            let rollback = try await store.publishModel(bytesA, note: "back to a")
            #expect(rollback.id == a.id && rollback.sequence > b.sequence && rollback.note == "back to a")
            #expect(try await store.currentModel().map { same($0, rollback) } == true)
            let history = try await store.modelHistory(limit: 10)
            #expect(history.count == 3)
            #expect(zip(history, [rollback, b, a]).allSatisfy(same), "newest first")
            #expect(try await store.modelHistory(limit: 2).map(\.id) == [a.id, b.id])
            #expect(try await store.modelBytes(id: a.id) == bytesA)
            #expect(try await store.modelBytes(id: b.id) == bytesB)
            #expect(try await store.modelBytes(id: String(repeating: "0", count: 64)) == nil)
        }
    }

    @Test(arguments: StoreKind.underTest)
    func aSharedSecretIsTheSameForEveryInstance(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            // Two instances (processes) on PostgreSQL; SQLiteStore is one process's store.
            let one = try await fixture.open()
            let two = kind == .postgres ? try await fixture.open() : one
            let values = try await withThrowingTaskGroup(of: Data.self) { group in
                for n in 0..<8 {
                    let store = n % 2 == 0 ? one : two
                    group.addTask { try await store.sharedSecret(name: "session") }
                }
                var values: [Data] = []
                for try await value in group { values.append(value) }
                return values
            }
            #expect(Set(values).count == 1, "one secret, whoever asked first")
            let secret = try #require(values.first)
            #expect(secret.count == 32)
            #expect(secret != Data(count: 32))
            let other = try await two.sharedSecret(name: "other")
            #expect(other.count == 32 && other != secret)
            try await one.close()
            if kind == .postgres { try await two.close() }
            let reopened = try await fixture.open()
            #expect(try await reopened.sharedSecret(name: "session") == secret)
            try await reopened.close()
        }
    }

    @Test(arguments: StoreKind.underTest)
    func deletingAUserErasesTheirFeedbackStateAndImpressions(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.append(
                FeedbackBatch(
                    rows: [row("ann", "1", 4), row("bob", "1", 4), row("ann", "2", 3)],
                    states: ["ann": AdaptedFromBatch(basedOn: 0, modelVersion: "v", values: [1])]))
            try await store.recordImpressions(user: "ann", items: ["2"], at: Date())
            try await store.recordImpressions(user: "bob", items: ["3"], at: Date())
            #expect(try await store.deleteUser("ann"))
            #expect(try await store.user("ann") == nil)
            #expect(try await store.feedbackLog(user: "ann").isEmpty)
            #expect(try await store.latestFeedback(user: "ann", limit: 10).isEmpty)
            #expect(try await store.feedbackHead(user: "ann") == 0)
            #expect(try await store.ratedItems(user: "ann").isEmpty)
            #expect(try await store.adaptedState(user: "ann") == nil)
            #expect(
                try await store.counts()
                    == StoreCounts(users: 1, feedback: 1, addedItems: 0, impressions: 1, adaptedStates: 0))
            #expect(try await store.deleteUser("ann") == false)
            #expect(try await store.deleteUser("nobody") == false)
            #expect(try await store.feedbackLog(user: "bob").count == 1, "others keep theirs")
        }
    }
}

/// What only the SQLite store has.
@Suite struct SQLiteStoreTests {
    /// An acknowledged write survives a power loss only if each commit syncs the WAL: GRDB's WAL
    /// setup lowers the writer to NORMAL, and the store must set it back.
    /// Another process holding the write lock past the busy timeout is the store being
    /// unavailable (the service answers 503 and the client retries), not a failure (500).
    /// One read gives what the separate reads give: the user, their rated items, their log's
    /// head and their state; a user without a state and an unknown user too.
    @Test(arguments: StoreKind.underTest)
    func aUserReadingIsTheSeparateReadsInOne(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let store = try await fixture.open()
            try await store.saveUser(
                StoredUser(id: "ann", features: Data(#"{"age":30}"#.utf8), createdAt: StoreTests.created))
            try await store.saveUser(StoredUser(id: "cat", createdAt: StoreTests.created))
            _ = try await store.append(
                FeedbackBatch(
                    rows: [row("ann", "10", 5), row("bob", "11", 2), row("ann", "12", 1), row("ann", "10", 3)],
                    states: ["ann": AdaptedFromBatch(basedOn: 0, modelVersion: "v1", values: [1.5, -2])]))
            for id in ["ann", "bob", "cat"] {
                let reading = try #require(try await store.userReading(id))
                #expect(reading.user == (try await store.user(id)), "\(id)")
                #expect(reading.rated == (try await store.ratedItems(user: id)), "\(id)")
                #expect(reading.feedbackHead == (try await store.feedbackHead(user: id)), "\(id)")
                #expect(reading.state == (try await store.adaptedState(user: id)), "\(id)")
            }
            #expect(try await store.userReading("ann")?.user.feedbackCount == 3)
            #expect(try await store.userReading("bob")?.state == nil)
            #expect(try await store.userReading("nobody") == nil)
            try await store.close()
        }
    }

    @Test func aWriteLockHeldElsewhereIsUnavailable() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "metarec-busy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("store.sqlite").path
        let store = try SQLiteStore(path: path, busyTimeout: 0.2)
        var holder = Configuration()
        holder.allowsUnsafeTransactions = true  // "another process" keeps its transaction open
        let other = try DatabaseQueue(path: path, configuration: holder)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
        await #expect {
            _ = try await store.append(
                FeedbackBatch(rows: [StoredFeedback(user: "ann", item: "1", value: 4, timestamp: Date())]))
        } throws: { ($0 as? StoreError)?.kind == .unavailable }
        try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        _ = try await store.append(
            FeedbackBatch(rows: [StoredFeedback(user: "ann", item: "1", value: 4, timestamp: Date())]))
        #expect(try await store.counts().feedback == 1, "answers again once the lock is gone")
        try await store.close()
    }

    @Test func theWriterSyncsEveryCommit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "metarec-sync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory.appendingPathComponent("store.sqlite").path)
        #expect(try await store.synchronousMode() == 2, "PRAGMA synchronous = FULL")
        try await store.close()
    }

    @Test func floatsRoundTripBitForBit() throws {
        let values: [Float] = [0, -0.0, 1, -1e-38, .greatestFiniteMagnitude, .pi, 123.456, .nan]
        #expect(SQLiteStore.floats(SQLiteStore.bytes(values)).map(\.bitPattern) == values.map(\.bitPattern))
        #expect(SQLiteStore.bytes(values) == PostgresStore.bytes(values), "both stores keep states in one format")
        #expect(try PostgresStore.floats(PostgresStore.bytes(values)).map(\.bitPattern) == values.map(\.bitPattern))
        #expect(throws: StoreError.self) { try PostgresStore.floats(Data([1, 2, 3])) }
    }

    @Test func anUnopenablePathIsAClearError() {
        #expect { try SQLiteStore(path: "/nonexistent-dir/x/store.sqlite") } throws: {
            "\($0)".contains("/nonexistent-dir/x/store.sqlite")
        }
    }
}

/// The same published version: equal in everything, `publishedAt` to the millisecond (a
/// `Date` does not round-trip exactly through seconds since 1970).
func same(_ a: PublishedModel, _ b: PublishedModel) -> Bool {
    a.id == b.id && a.sequence == b.sequence && a.note == b.note && a.byteCount == b.byteCount
        && abs(a.publishedAt.timeIntervalSince(b.publishedAt)) < 0.001
}
