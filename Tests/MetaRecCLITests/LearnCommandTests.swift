import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecModels
import MetaRecStore
import Testing

@testable import metarec

/// `metarec learn --once` on a store with a stream of new users: the learned start is published
/// with the learner's note; a bundle without a partition is refused with the reason.
@Suite(.serialized) struct LearnCommandTests {
    let runner = CommandRunner("learn")
    var directory: URL { runner.directory }

    func run(_ arguments: [String]) async throws { try await runner.run(arguments) }

    func train(_ method: String) async throws -> String {
        try await runner.train(method, into: "\(method).safetensors")
    }

    @Test func learnOncePublishesTheLearnedStartAndRefusesAHead() async throws {
        let storePath = directory.appendingPathComponent("store.sqlite").path
        let model = try await train("fomaml")
        let bundle = try ModelBundle(contentsOf: URL(fileURLWithPath: model))
        let store = try SQLiteStore(path: storePath)
        // 12 new users, 13 distinct catalogue items each, ratings on the bundle's scale.
        var random = SeededGenerator(seed: 7)
        let ids = bundle.description.catalogue.ids
        let scale = bundle.description.feedback
        for user in 0..<12 {
            let items = random.sample(13, from: ids.count).map { ids[$0] }
            let rows = items.map { item in
                let value = Float(Int(scale.minimum) + random.integer(below: Int(scale.maximum - scale.minimum) + 1))
                return StoredFeedback(user: "u\(user)", item: item, value: value, timestamp: Date())
            }
            _ = try await store.append(FeedbackBatch(rows: rows))
        }
        try await run([
            "learn", "--model", model, "--store", "sqlite:" + storePath, "--once", "--margin", "10",
            "--hold-out-every", "3",
        ])
        let history = try await store.modelHistory(limit: 10)
        #expect(history.count == 2, "the start, then the learned one")
        #expect(history.first?.note.hasPrefix("metarec learn through=156 ") == true)

        let head = try await train("covariance")
        let other = try SQLiteStore(path: directory.appendingPathComponent("other.sqlite").path)
        await #expect {
            try await run(["learn", "--model", head, "--store", "sqlite:" + other.path, "--once"])
        } throws: {
            "\($0)".contains("cannot learn online")
        }
        #expect(try await other.modelHistory(limit: 10).isEmpty)
        try await other.close()
        try await store.close()
    }
}
