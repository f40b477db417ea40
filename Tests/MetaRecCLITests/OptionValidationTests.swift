import ArgumentParser
import Foundation
import MetaRecData
import MetaRecModels
import Testing

@testable import metarec

/// Every numeric option is range-checked at parse time, and output folders before any work
/// (issue 13: these used to crash, run for minutes, or fail only after training).
@Suite struct OptionValidationTests {
    @Test(arguments: [
        (["train", "--inner-learning-rate=-5"], "--inner-learning-rate"),
        (["train", "--outer-learning-rate", "1e6"], "--outer-learning-rate"),
        (["train", "--outer-learning-rate", "nan"], "--outer-learning-rate"),
        (["train", "--pretrain-learning-rate", "0"], "--pretrain-learning-rate"),
        (["demo", "--hidden", "100000,100000"], "--hidden"),
        (["demo", "--embedding-size", "100000"], "--embedding-size"),
        (["demo", "--threads", "0"], "--threads"),
        (["evaluate", "--streaming", "--stream-support=-3"], "--stream-support"),
        (["evaluate", "--streaming", "--stream-support", "0"], "--stream-support"),
        (["evaluate", "--streaming", "--stream-partitions", "bogus"], "bogus"),
        (["evaluate", "--generator-rates", "0.1,-1"], "--generator-rates"),
        (["evaluate", "--json", "/nonexistent-folder/report.json"], "/nonexistent-folder"),
        (["evaluate", "--markdown", "/nonexistent-folder/report.md"], "/nonexistent-folder"),
        (["demo", "--json", "/nonexistent-folder/report.json"], "/nonexistent-folder"),
        (["train", "--out", "/nonexistent-folder/model.safetensors"], "/nonexistent-folder"),
        (["train", "--out", "/tmp"], "is a folder"),
        (["data", "stats", "--query-size", "20", "--min-task-size", "13"], "--min-task-size"),
        (["demo", "--negatives", "1000"], "--negatives"),
        (["demo", "--epochs", "-1"], "--epochs"),
        (["train", "--inner-steps", "-2"], "--inner-steps"),
    ])
    func badOptionsFailAtParseTime(arguments: [String], mentions: String) {
        let message = parseError(arguments)
        #expect(message?.contains(mentions) == true, "\(arguments): \(String(describing: message))")
    }

    @Test func goodOptionsParse() {
        #expect(
            parseError(["train", "--inner-learning-rate", "0.1", "--hidden", "64,64", "--out", "/tmp/m.safetensors"])
                == nil)
        #expect(
            parseError(["evaluate", "--streaming", "--stream-partitions", "all,last-layer", "--stream-support", "5"])
                == nil)
    }

    @Test func recommendInputNamesTheItemGivenTwice() throws {
        #expect { _ = try RecommendInput.once([("b", 5), ("b", 1)]) } throws: { "\($0)".contains("'b' is rated twice") }
        #expect(try RecommendInput.once([("a", 5), ("b", 1)]).count == 2)
        #expect { _ = try RecommendInput.candidates("a,b,a") } throws: { "\($0)".contains("'a' is listed twice") }
        #expect(try RecommendInput.candidates("a, c") == ["a", "c"])
    }

    @Test func aModelFromAnotherSeedThresholdOrDataSetIsNamed() {
        let trained = ModelArchive.DataDescription(name: "ml-100k", source: "x", seed: 0, implicitThreshold: nil)
        #expect(ModelCompatibility.mismatches(trained, datasetName: "ml-100k", seed: 0, implicitThreshold: nil).isEmpty)
        let other = ModelCompatibility.mismatches(trained, datasetName: "plays", seed: 1, implicitThreshold: 4)
        #expect(other.count == 3)
        #expect(other.joined().contains("split seed 0, not 1"))
        #expect(other.joined().contains("implicit threshold 4"))
    }
}
