import Foundation
import MetaRecModels
import Testing

@testable import metarec

/// `recommend --ask` and `onboarding` end to end on a small synthetic data set.
@Suite(.serialized) struct OnboardingCommandTests {
    let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-ask-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    let data = ["--synthetic-users", "250", "--synthetic-items", "100", "--synthetic-interactions", "10000"]

    @Test func askListsItemsToRateNextFromACovarianceHead() throws {
        let model = directory.appendingPathComponent("head.safetensors").path
        var train = try MetaRecCommand.parseAsRoot(
            ["train", "--method", "covariance", "--epochs", "2", "--quiet", "--out", model] + data)
        try train.run()
        // The bundle holds Ψ for items added while serving (Docs/exploration.md), estimated on
        // warm items: square, of the head's dimension, with a positive diagonal.
        let archive = try ModelBundle(contentsOf: URL(fileURLWithPath: model)).archive
        let psi = try #require(archive.newItemPrior)
        let k = psi.dimension
        #expect(
            k * k == psi.covariance.count && k == archive.priorCovariance.map { Int(Double($0.count).squareRoot()) })
        #expect(psi.items > 0 && (0..<k).allSatisfy { psi.covariance[$0 * k + $0] > 0 })
        #expect(psi.noiseVariance == archive.header.noiseVariance)

        let ask = try RecommendCommand.parse(["--model", model, "--rate", "1=5", "--ask", "3"])
        let lines = try ask.recommendations()
        #expect(lines.count == 2 + 3, "\(lines)")
        let items = lines.dropFirst(2).map { String($0.split(separator: "\t")[1]) }
        #expect(
            Set(items).count == 3 && !items.contains("1"), "three distinct items, not the one already rated: \(items)")
        let reductions = lines.dropFirst(2).map { Double($0.split(separator: "\t")[2])! }
        #expect(reductions.allSatisfy { $0 > 0 })

        let restricted = try RecommendCommand.parse(["--model", model, "--ask", "5", "--candidates", "3,4"])
            .recommendations()
        #expect(Set(restricted.dropFirst(2).map { String($0.split(separator: "\t")[1]) }) == ["3", "4"])

        let maml = directory.appendingPathComponent("maml.safetensors").path
        var trainMAML = try MetaRecCommand.parseAsRoot(
            [
                "train", "--method", "maml", "--epochs", "1", "--inner-steps", "1",
                "--embedding-size", "8", "--hidden", "16", "--quiet", "--out", maml,
            ] + data)
        try trainMAML.run()
        // A model without a posterior asks the most popular items, with no variance figure.
        let popular = try RecommendCommand.parse(["--model", maml, "--ask", "2"]).recommendations()
        #expect(popular.count == 2 + 2 && popular[0].contains("most popular first"))
        #expect(popular.dropFirst(2).allSatisfy { $0.split(separator: "\t")[2] == "-" })
    }

    @Test func onboardingWritesEveryChoosersCurve() throws {
        let json = directory.appendingPathComponent("onboarding.json").path
        var command = try MetaRecCommand.parseAsRoot(["onboarding", "--epochs", "1", "--quiet", "--json", json] + data)
        try command.run()
        let document =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let curves = try #require(document["curves"] as? [[String: Any]])
        #expect(curves.count == 7)
        #expect(curves.allSatisfy { ($0["points"] as? [[String: Any]])?.map { $0["k"] as! Int } == [1, 3, 5, 10] })
        #expect((document["calibration"] as? [[String: Any]])?.count == 6)
    }
}
