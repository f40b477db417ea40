import Foundation
import Testing

@testable import MetaRecStore

/// The SQLite store on a real file: what was acknowledged survives closing and reopening,
/// deletion erases everything about a user, concurrent appends all land.
@Suite struct StoreTests {
    func temporaryPath() -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "metarec-store-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("store.sqlite").path
    }

    @Test func everythingAcknowledgedSurvivesAReopen() async throws {
        let path = temporaryPath()
        let store = try SQLiteStore(path: path)
        let created = Date(timeIntervalSince1970: 1_700_000_000)
        try await store.saveUser(StoredUser(id: "ann", features: Data(#"{"age":30}"#.utf8), createdAt: created))
        _ = try await store.append(
            FeedbackBatch(rows: [
                StoredFeedback(user: "ann", item: "10", value: 5, timestamp: created),
                StoredFeedback(user: "bob", item: "11", value: 2, timestamp: created),  // bob is created
                StoredFeedback(user: "ann", item: "12", value: 1, timestamp: created.addingTimeInterval(5)),
            ]))
        try await store.saveAdaptedState(
            StoredState(modelVersion: "v1", lastSequence: 3, values: [1.5, -2, .pi]), user: "ann")
        _ = try await store.saveItem(
            StoredItem(id: "new", title: "New", features: Data(#"{"genres":["Drama"]}"#.utf8), addedAt: created))
        _ = try await store.setHidden(item: "10", true)
        try await store.recordImpressions(user: "ann", items: ["11", "13"], at: created)
        try await store.close()

        let reopened = try SQLiteStore(path: path)
        let ann = try #require(try await reopened.user("ann"))
        #expect(ann.features == Data(#"{"age":30}"#.utf8) && ann.createdAt == created && ann.feedbackCount == 2)
        #expect(try await reopened.user("bob")?.feedbackCount == 1)
        let recent = try await reopened.latestFeedback(user: "ann", limit: 10)
        #expect(recent.map(\.item) == ["10", "12"], "oldest first")
        #expect(try await reopened.latestFeedback(user: "ann", limit: 1).map(\.item) == ["12"], "the most recent N")
        #expect(try await reopened.ratedItems(user: "ann") == ["10", "12"])
        #expect(
            try await reopened.adaptedState(user: "ann")
                == StoredState(modelVersion: "v1", lastSequence: 3, values: [1.5, -2, .pi]))
        #expect(try await reopened.addedItems().map(\.id) == ["new"])
        #expect(try await reopened.hiddenItems() == ["10"])
        #expect(
            try await reopened.counts()
                == StoreCounts(users: 2, feedback: 3, addedItems: 1, impressions: 2, adaptedStates: 1))
        let bytes = try #require(try await reopened.storedStateBytes(user: "ann"))
        #expect(bytes == 3 + 2 + 8 + 3 * 4)
        _ = try await reopened.setHidden(item: "10", false)
        #expect(try await reopened.hiddenItems().isEmpty)
        try await reopened.close()
    }

    @Test func deletingAUserErasesTheirFeedbackStateAndImpressions() async throws {
        let store = try SQLiteStore(path: temporaryPath())
        _ = try await store.append(
            FeedbackBatch(rows: [
                StoredFeedback(user: "ann", item: "1", value: 4, timestamp: Date()),
                StoredFeedback(user: "bob", item: "1", value: 4, timestamp: Date()),
            ]))
        try await store.saveAdaptedState(StoredState(modelVersion: "v", lastSequence: 1, values: [1]), user: "ann")
        try await store.recordImpressions(user: "ann", items: ["2"], at: Date())
        #expect(try await store.deleteUser("ann"))
        #expect(try await store.user("ann") == nil)
        #expect(try await store.latestFeedback(user: "ann", limit: 10).isEmpty)
        #expect(try await store.adaptedState(user: "ann") == nil)
        #expect(
            try await store.counts()
                == StoreCounts(users: 1, feedback: 1, addedItems: 0, impressions: 0, adaptedStates: 0))
        #expect(try await store.deleteUser("ann") == false)
        try await store.close()
    }

    @Test func concurrentAppendsAllLand() async throws {
        let store = try SQLiteStore(path: temporaryPath())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in 0..<20 {
                group.addTask {
                    _ = try await store.append(
                        FeedbackBatch(
                            rows: (0..<5).map {
                                StoredFeedback(user: "ann", item: "\(batch)-\($0)", value: 1, timestamp: Date())
                            }))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.latestFeedback(user: "ann", limit: 1000).count == 100)
        try await store.close()
    }

    @Test func floatsRoundTripBitForBit() {
        let values: [Float] = [0, -0.0, 1, -1e-38, .greatestFiniteMagnitude, .pi, 123.456]
        #expect(SQLiteStore.floats(SQLiteStore.bytes(values)).map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func anUnopenablePathIsAClearError() {
        #expect { try SQLiteStore(path: "/nonexistent-dir/x/store.sqlite") } throws: {
            "\($0)".contains("/nonexistent-dir/x/store.sqlite")
        }
    }
}
