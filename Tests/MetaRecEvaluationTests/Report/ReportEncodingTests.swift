import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import Testing

@testable import MetaRecEvaluation

/// Reports never carry NaN: `evaluate --implicit-threshold 4 --json` on ml-100k used to fail with
/// an EncodingError after the whole run.
@Suite struct ReportEncodingTests {
    @Test func undefinedMetricsBecomeNullWithAReason() throws {
        let result = ScenarioResult(
            tasks: 3, meanAbsoluteError: 0.5, rootMeanSquaredError: .nan, ndcgAt3: .nan,
            auc: nil, aucTasks: 0, ranking: nil)
        let method = MethodReport(
            name: "m", scenarios: ["user-cold": result],
            fewShot: [FewShotPoint(k: 0, meanAbsoluteError: .infinity, auc: nil)], seconds: 1)
        let report = EvaluationReport(
            dataset: "d", seed: 0, implicitFeedback: true, checksums: [:], scenarios: ["user-cold"],
            taskCounts: ["user-cold": 3], randomOrderNDCG: [:], methods: [method], wallSeconds: 1)
        let json = try report.json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let methods = try #require(object["methods"] as? [[String: Any]])
        let scenario = try #require((methods[0]["scenarios"] as? [String: Any])?["user-cold"] as? [String: Any])
        #expect(scenario["rootMeanSquaredError"] is NSNull)
        #expect(scenario["ndcgAt3"] is NSNull)
        #expect((scenario["meanAbsoluteError"] as? Double) == 0.5)
        let reasons = try #require(scenario["undefined"] as? [String: String])
        #expect(reasons["ndcgAt3"]?.contains("positive gain") == true)
        #expect(reasons["auc"]?.contains("both classes") == true)
        // And it reads back, undefined as NaN.
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(json.utf8))
        #expect(decoded.methods[0].scenarios["user-cold"]?.ndcgAt3.isNaN == true)
        #expect(decoded.methods[0].fewShot[0].meanAbsoluteError.isNaN)
    }

    /// Implicit feedback where some tasks have no positive (threshold 4 on ratings): the
    /// random-order floor skips them instead of turning NaN, and the JSON encodes.
    @Test func implicitThresholdReportEncodes() throws {
        let data = BuiltInData.synthetic(
            seed: 2, users: 200, items: 80, targetInteractions: 8_000, feedback: .implicit(threshold: 5)
        ).dataset
        let experiment = try Experiment(dataset: data, seed: 0, threads: 2)
        let report = experiment.report(for: experiment.baselines())
        #expect(report.randomOrderNDCG.values.allSatisfy { $0.isFinite })
        #expect(!report.randomOrderNDCG.isEmpty)
        let json = try report.json()
        #expect(!json.contains("NaN"))
        #expect(report.candidateSet != nil)
        #expect(report.methods.allSatisfy { $0.scenarios.values.allSatisfy { $0.auc == nil || $0.ranking != nil } })
    }

    /// A scenario without tasks still gets a line saying why.
    @Test func everyScenarioIsAccountedFor() throws {
        var data = BuiltInData.synthetic(seed: 2, users: 200, items: 80, targetInteractions: 8_000).dataset
        data.rawItemFeatures = RawFeatures()
        let experiment = try Experiment(
            dataset: data, seed: 0, threads: 2,
            splitOptions: SplitOptions(minimumTaskSize: 60, maximumTaskSize: 100, querySize: 10))
        let report = experiment.report(for: experiment.baselines())
        let accounted = Set(report.scenarios).union(report.missingScenarios.map { Array($0.keys) } ?? [])
        #expect(accounted.isSuperset(of: ["user-cold", "item-cold", "both-cold"]))
        #expect(report.missingScenarios?["both-cold"] != nil, "expected no both-cold task with 60 ratings on new items")
        let markdown = report.markdown()
        #expect(markdown.contains("both-cold: n/a"))
        #expect(markdown.contains("items have no features"))
    }
}

@Suite struct ReportJSONTests {  // JSONFormat, as every report uses it
    struct Study: Codable {
        var median: Double
        var values: [Double]
        var name: String
    }

    @Test func nonFiniteNumbersAnywhereBecomeNull() throws {
        let json = try JSONFormat.string(Study(median: .nan, values: [1.5, .infinity, -.infinity], name: "s"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["median"] is NSNull)
        let values = try #require(object["values"] as? [Any])
        #expect((values[0] as? Double) == 1.5 && values[1] is NSNull && values[2] is NSNull)
    }
}
