import Foundation
import Testing

@testable import metarec

/// The command-line tool end to end on a small synthetic data set: train, evaluate, recommend,
/// and the errors a user sees for bad input.
@Suite(.serialized) struct CommandLineTests {
    let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    let small = [
        "--synthetic-users", "250", "--synthetic-items", "100", "--synthetic-interactions", "10000",
        "--embedding-size", "8", "--hidden", "16", "--quiet",
    ]

    func run(_ arguments: [String]) throws {
        var command = try MetaRecCommand.parseAsRoot(arguments)
        try command.run()
    }

    @Test func trainEvaluateRecommend() throws {
        let model = directory.appendingPathComponent("maml.safetensors").path
        try run(["train", "--method", "maml", "--epochs", "2", "--inner-steps", "2", "--out", model] + small)
        #expect(FileManager.default.fileExists(atPath: model))

        let json = directory.appendingPathComponent("report.json").path
        let markdown = directory.appendingPathComponent("report.md").path
        let html = directory.appendingPathComponent("report.html").path
        try run(
            ["evaluate", "--model", model, "--epochs", "1", "--json", json, "--markdown", markdown, "--html", html]
                + small)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg class=\"plot\"") && page.contains("data-series=\"global mean\""))
        try mergeSeeds(json)
        let document =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let report = try #require(document["protocol"] as? [String: Any])
        let names = (report["methods"] as! [[String: Any]]).map { $0["name"] as! String }
        for expected in ["global mean", "user mean", "item mean", "pretrained network"] {
            #expect(names.contains(expected), "report lacks \(expected): \(names)")
        }
        #expect(names.contains { $0.hasPrefix("pretrained + fine-tune") } && names.contains { $0.hasPrefix("MAML") })
        let table = try String(contentsOfFile: markdown, encoding: .utf8)
        #expect(table.contains("| user-cold MAE |") || table.contains("user-cold MAE"))
        #expect(table.contains("Few-shot curve"))

        // The bundle alone: no data options.
        var recommend = try RecommendCommand.parse(["--model", model, "--rate", "1=5", "--rate", "2=1", "--top", "4"])
        let lines = try recommend.recommendations()
        #expect(lines.count == 2 + 4)
        #expect(
            !lines.dropFirst(2).contains { $0.split(separator: "\t")[1] == "1" || $0.split(separator: "\t")[1] == "2" },
            "rated items must not be recommended")
        let scores = lines.dropFirst(2).map { Float($0.split(separator: "\t")[2])! }
        #expect(scores == scores.sorted(by: >))
        _ = recommend

        // New items from the command line are ranked beside the catalogue.
        let newItem = #"{"id": "brand-new", "title": "Brand new", "features": {"genres": ["Drama"]}}"#
        let ranked = try RecommendCommand.parse([
            "--model", model, "--new-item", newItem, "--candidates", "brand-new,3", "--top", "2",
        ]).recommendations()
        #expect(ranked.dropFirst(2).map { String($0.split(separator: "\t")[1]) }.sorted() == ["3", "brand-new"])
        #expect { try RecommendCommand.parse(["--model", model, "--rate", "nope=4"]).recommendations() } throws: {
            "\($0)".contains("nope")
        }
        #expect { try RecommendCommand.parse(["--model", model, "--new-item", "{"]).recommendations() } throws: {
            "\($0)".contains("--new-item 1")
        }
    }

    /// `metarec report` on the evaluated seed and a copy relabelled as seed 1: mean and spread,
    /// and a repeated seed refused with the file named.
    func mergeSeeds(_ json: String) throws {
        var document =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        var table = document["protocol"] as! [String: Any]
        table["seed"] = 1
        document["protocol"] = table
        let copy = directory.appendingPathComponent("seed1.json")
        try JSONSerialization.data(withJSONObject: document).write(to: copy)
        let merged = directory.appendingPathComponent("merged.html").path
        let markdown = directory.appendingPathComponent("merged.md").path
        try run(["report", json, copy.path, "--html", merged, "--markdown", markdown])
        #expect(try String(contentsOfFile: merged, encoding: .utf8).contains("split seeds 0, 1"))
        #expect(try String(contentsOfFile: markdown, encoding: .utf8).contains("2 seeds (0, 1), mean ± sd"))
        do {
            try run(["report", json, json])
            Issue.record("a repeated seed was merged")
        } catch {
            #expect(MetaRecCommand.message(for: error).contains("\(json): report 2 repeats split seed 0"))
        }
    }

    @Test func streamingAndItemWarmUpTables() throws {
        let json = directory.appendingPathComponent("more.json").path
        let html = directory.appendingPathComponent("more.html").path
        try run(
            [
                "evaluate", "--no-table", "--streaming", "--stream-partitions", "last-layer,modulation", "--epochs",
                "1",
                "--item-warmup", "--warmup-k", "4", "--generator-epochs", "2", "--implicit-threshold", "4", "--json",
                json,
                "--html", html,
            ] + small)
        let document =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let streaming = try #require(document["streaming"] as? [String: Any])
        let rows = try #require(streaming["rows"] as? [[String: Any]])
        #expect(rows.count == 2 * 3, "two partitions × three conditions")
        #expect(Set(rows.compactMap { $0["partition"] as? String }) == ["last-layer", "modulation"])
        let bytes = rows.compactMap { $0["bytesPerUser"] as? Int }
        #expect(bytes.allSatisfy { $0 > 0 })
        let warmUp = try #require(document["itemWarmUp"] as? [String: Any])
        let methods = ((warmUp["rows"] as? [[String: Any]]) ?? []).compactMap { $0["initialisation"] as? String }
        #expect(
            methods.contains { $0.hasPrefix("LWA") } && methods.contains { $0.hasPrefix("NLBA") },
            "click data: the warm-up table has LWA and NLBA rows, got \(methods)")
        #expect(document["protocol"] == nil)
        #expect(rows.allSatisfy { !(($0["curve"] as? [Any]) ?? []).isEmpty }, "every stream row has its curve")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(
            page.components(separatedBy: "<svg class=\"plot\"").count - 1 == 3,
            "two stream partitions and the warm-up rounds")
        #expect(page.contains("Stream GAUC, partition modulation") && page.contains("Item warm-up: GAUC per round"))
    }

    @Test func badInputGetsAClearError() throws {
        #expect { try RecommendCommand.parseRatings(["A=5", "B five"], source: "mine.csv") } throws: { error in
            "\(error)".contains("mine.csv line 2") && "\(error)".contains("ITEM=VALUE")
        }
        let missing = directory.appendingPathComponent("absent.safetensors").path
        #expect(throws: (any Error).self) {
            try run(["evaluate", "--model", missing, "--no-network-baselines"] + small)
        }
        #expect(throws: (any Error).self) { try run(["train", "--data", "/nonexistent/place"] + small) }
    }
}
