import Foundation
import MetaRecModels
import Testing

@testable import metarec

/// `metarec train --method tanp` writes a bundle that `recommend` adapts and ranks with.
@Suite(.serialized) struct TaNPCommandTests {
    let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    @Test func trainThenRecommend() throws {
        let model = directory.appendingPathComponent("tanp.safetensors").path
        var train = try MetaRecCommand.parseAsRoot([
            "train", "--method", "tanp", "--epochs", "1", "--out", model, "--synthetic-users", "250",
            "--synthetic-items", "100", "--synthetic-interactions", "10000", "--quiet",
        ])
        try train.run()
        let bundle = try ModelBundle(contentsOf: URL(fileURLWithPath: model))
        #expect(bundle.archive.header.kind == .tanp && bundle.archive.header.tanp?.maxEpochs == 1)

        let lines = try RecommendCommand.parse(["--model", model, "--rate", "1=5", "--rate", "2=1", "--top", "4"])
            .recommendations()
        #expect(lines.count == 2 + 4 && lines[0].hasPrefix("tanp model"))
        let rows = lines.dropFirst(2).map { $0.split(separator: "\t").map(String.init) }
        #expect(!rows.contains { $0[1] == "1" || $0[1] == "2" }, "rated items must not be recommended")
        let scores = rows.map { Float($0[2])! }
        #expect(scores == scores.sorted(by: >))
        // The same ranking as the library's Recommender on the same bundle and ratings.
        let recommender = try Recommender(bundle: bundle)
        let state = try recommender.adapt(userFeatures: [:], feedback: [("1", 5), ("2", 1)])
        let expected = try recommender.recommend(userFeatures: [:], state: state, count: 4, excluding: ["1", "2"])
        #expect(rows.map { $0[1] } == expected.map(\.id))

        let newItem = #"{"id": "brand-new", "title": "Brand new", "features": {"genres": ["Drama"]}}"#
        let ranked = try RecommendCommand.parse([
            "--model", model, "--new-item", newItem, "--candidates", "brand-new,3", "--top", "2",
        ]).recommendations()
        #expect(ranked.dropFirst(2).map { String($0.split(separator: "\t")[1]) }.sorted() == ["3", "brand-new"])

        let questions = try RecommendCommand.parse(["--model", model, "--rate", "1=5", "--ask", "3"])
            .recommendations()
        #expect(questions.count == 2 + 3 && questions[0].contains("most popular first"))
    }
}
