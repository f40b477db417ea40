import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecModels
import MetaRecStore
import Testing

@testable import metarec

/// `metarec publish` against a store: publish, list, roll back by id, and refuse a bundle that
/// would serve nonsense before storing anything; `recommend` says so when nothing is left to rank.
@Suite(.serialized) struct PublishCommandTests {
    let runner = CommandRunner("publish")
    var directory: URL { runner.directory }

    func run(_ arguments: [String]) async throws { try await runner.run(arguments) }

    func train(_ name: String, seed: Int) async throws -> String {
        try await runner.train("covariance", into: name, seed: seed)
    }

    @Test func publishListRollBackAndRefuse() async throws {
        let store = "sqlite:" + directory.appendingPathComponent("store.sqlite").path
        let first = try await train("first.safetensors", seed: 1)
        let second = try await train("second.safetensors", seed: 2)
        let firstID = ModelBundle.version(of: try Data(contentsOf: URL(fileURLWithPath: first)))
        let secondID = ModelBundle.version(of: try Data(contentsOf: URL(fileURLWithPath: second)))
        #expect(firstID != secondID)

        try await run(["publish", first, "--store", store])
        try await run(["publish", second, "--store", store, "--note", "weekly retrain"])
        try await run(["publish", "--version", String(firstID.prefix(10)), "--store", store])
        let opened = try await StoreLocation.open(store)
        let history = try await opened.modelHistory(limit: 10)
        #expect(history.map(\.id) == [firstID, secondID, firstID], "the rollback is the newest publication")
        #expect(history[1].note == "weekly retrain")
        #expect(try await opened.currentModel()?.id == firstID)

        // Weights that are not finite, past the trainer's own check and with a valid checksum.
        var checkpoint = try Checkpoint(contentsOf: URL(fileURLWithPath: second))
        let name = try #require(checkpoint.tensors.keys.sorted().first)
        checkpoint.tensors[name]?.values[0] = .infinity
        let broken = directory.appendingPathComponent("broken.safetensors")
        try checkpoint.write(to: broken)
        await #expect { try await run(["publish", broken.path, "--store", store]) } throws: {
            "\($0)".contains("not finite")
        }
        #expect(try await opened.modelHistory(limit: 10).count == 3, "nothing refused is stored")
        await #expect { try await run(["publish", "--version", "zzzz", "--store", store]) } throws: {
            "\($0)".contains("no published version")
        }
        try await opened.close()
    }

    @Test func recommendSaysWhenNothingIsLeftToRank() async throws {
        let model = try await train("model.safetensors", seed: 3)
        let bundle = try ModelBundle(contentsOf: URL(fileURLWithPath: model))
        let (a, b) = (bundle.description.catalogue.ids[0], bundle.description.catalogue.ids[1])
        var recommend = try RecommendCommand.parse([
            "--model", model, "--rate", "\(a)=5", "--rate", "\(b)=4", "--candidates", "\(a),\(b)",
        ])
        #expect { _ = try recommend.recommendations() } throws: { "\($0)".contains("nothing left to rank") }
        _ = recommend
    }
}
