import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import Testing

@testable import MetaRecEvaluation

/// Full ranking in the protocol's report: every method and the ranking baselines get a row, the JSON
/// round-trips, and seeds merge into mean ± sd.
@Suite(.serialized) struct FullRankingReportTests {
    static let data = BuiltInData.synthetic(seed: 2, users: 200, items: 80, targetInteractions: 8_000).dataset

    @Test func reportCarriesFullRankingForMethodsAndBaselines() throws {
        let experiment = try Experiment(dataset: Self.data, seed: 0, threads: 2)
        let report = experiment.report(for: experiment.baselines())
        #expect(!report.scenarios.isEmpty)
        let names = (report.rankingBaselines ?? []).map(\.name)
        #expect(names == ["popularity", "ItemKNN (cosine)", "EASE", "content KNN", "random order"])
        for method in report.methods {
            for scenario in report.scenarios {
                let result = try #require(method.scenarios[scenario]?.fullRanking)
                #expect(result.tasks > 0 && result.meanCandidates >= 10)
                #expect(result.values.allSatisfy { $0 >= 0 && $0 <= 1 })
                #expect(result.recallAt10 <= result.recallAt20)
            }
        }
        // Every scenario's tasks are accounted for: ranked, or left out without a relevant item.
        for scenario in report.scenarios {
            let result = try #require(report.methods.first?.scenarios[scenario]?.fullRanking)
            #expect(result.tasks + result.tasksWithoutRelevant == report.taskCounts[scenario])
        }
        // The user mean is one score for every candidate: with candidates in a seeded random order
        // it is exactly the random-order row.
        let userMean = try #require(report.methods.first { $0.name == "user mean" })
        let random = try #require(report.rankingBaselines?.first { $0.name == "random order" })
        for scenario in report.scenarios {
            #expect(userMean.scenarios[scenario]?.fullRanking == random.scenarios[scenario])
        }
        let markdown = report.markdown()
        #expect(markdown.contains("Full ranking"))
        #expect(markdown.contains("user-cold R@20"))
        #expect(markdown.contains("EASE λ by validation recall@20"))
        let json = try report.json()
        #expect(!json.contains("NaN"))
        let decoded = try JSONFormat.decoder().decode(EvaluationReport.self, from: Data(json.utf8))
        #expect(decoded.rankingBaselines?.count == 5)
        let decodedUserMean = decoded.methods.first { $0.name == "user mean" }
        #expect(decodedUserMean?.scenarios["user-cold"]?.fullRanking == userMean.scenarios["user-cold"]?.fullRanking)

        let again = try Experiment(dataset: Self.data, seed: 1, threads: 2)
        let summary = try SeedSummary([
            ReportBundle(protocol: report), ReportBundle(protocol: again.report(for: again.baselines())),
        ])
        let rows = try #require(summary.fullRanking)
        #expect(rows.map(\.name).contains("EASE"))
        let ease = try #require(rows.first { $0.name == "EASE" }?.scenarios["user-cold"])
        #expect(ease.count == FullRankingResult.columns.count)
        #expect(ease.compactMap { $0 }.first?.count == 2)
        #expect(summary.markdown().contains("Full ranking"))
        let html = HTMLReport(summary).render()
        #expect(html.contains("<h2>Full ranking</h2>"))
        // The few-shot section draws one line per row with a curve, each through every K.
        let curves = rows.filter { $0.fewShot != nil }
        let sizes = Set(curves.flatMap { $0.fewShot!.keys })
        #expect(!curves.isEmpty && sizes.count > 1)
        let start = try #require(html.range(of: "<h2>Full ranking, few-shot</h2>"))
        let end = try #require(html.range(of: "</section>", range: start.upperBound..<html.endIndex))
        let section = html[start.upperBound..<end.lowerBound]
        for row in curves {
            #expect(section.contains("data-series=\"\(HTML.escape(row.name))\" data-points=\"\(row.fewShot!.count)\""))
        }
    }

    /// Reports written before full ranking still read, and render without its table.
    @Test func oldReportsWithoutFullRankingStillRead() throws {
        let result = ScenarioResult(
            tasks: 3, meanAbsoluteError: 0.5, rootMeanSquaredError: 0.6, ndcgAt3: 0.7, auc: nil, aucTasks: 0,
            ranking: nil)
        let report = EvaluationReport(
            dataset: "d", seed: 0, implicitFeedback: false, checksums: [:], scenarios: ["user-cold"],
            taskCounts: ["user-cold": 3], randomOrderNDCG: [:],
            methods: [MethodReport(name: "m", scenarios: ["user-cold": result], fewShot: [], seconds: 1)],
            wallSeconds: 1)
        #expect(!report.markdown().contains("Full ranking"))
        let summary = try SeedSummary([ReportBundle(protocol: report)])
        #expect(summary.fullRanking == nil)
    }
}
