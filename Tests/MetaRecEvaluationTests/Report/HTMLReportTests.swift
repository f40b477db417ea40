import Foundation
import Testing

@testable import MetaRecEvaluation

/// The HTML report: text is escaped, every plot carries its data, and the file stands alone.
struct HTMLReportTests {
    func summary(methodName: String = "MAML") throws -> SeedSummary {
        let methods = [
            ReportFixtures.method(methodName, mae: 0.8, curve: [1.0, 0.9, 0.85, 0.8]),
            ReportFixtures.method("global mean", mae: 0.95, curve: [0.95, 0.95, 0.95, 0.95]),
        ]
        return try SeedSummary([
            ReportBundle(
                protocol: ReportFixtures.table(seed: 0, methods: methods),
                streaming: ReportFixtures.streaming(seed: 0, gaucs: [0.6, 0.7, 0.8])),
            ReportBundle(
                protocol: ReportFixtures.table(
                    seed: 1,
                    methods: methods.map {
                        var m = $0
                        m.fewShot[0].meanAbsoluteError += 0.1
                        return m
                    }),
                streaming: ReportFixtures.streaming(seed: 1, gaucs: [0.5, 0.9, 0.8])),
        ])
    }

    @Test func escapesText() throws {
        #expect(
            HTML.escape(#"<a href="x">Tom & 'Jerry'</a>"#)
                == "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;")
        let html = HTMLReport(try summary(methodName: "<script>alert(1)</script>")).render()
        #expect(!html.contains("<script"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test func plotsCarryTheirData() throws {
        let html = HTMLReport(try summary()).render()
        #expect(count("<svg class=\"plot\"", in: html) == 2, "few-shot curve and one stream partition")
        #expect(html.contains("<g class=\"series\" data-series=\"MAML\" data-points=\"4\">"))
        #expect(html.contains("<g class=\"series\" data-series=\"global mean\" data-points=\"4\">"))
        #expect(html.contains("<g class=\"series\" data-series=\"online + replay\" data-points=\"3\">"))
        // The K = 0 point of MAML is the mean of 1.0 and 1.1 with its spread as an error bar.
        #expect(html.contains("data-x=\"0.0\" data-y=\"1.05\""))
        #expect(count("class=\"error-bar\"", in: html) >= 2)
        #expect(html.contains("stroke-dasharray"), "baselines are dashed")
        #expect(html.contains("u.data") && html.contains("ab12"), "checksums are printed")
    }

    @Test func standsAlone() throws {
        let html = HTMLReport(try summary()).render().lowercased()
        for reference in ["http:", "https:", "<script", "src=", "href=", "url(", "@import", "<link"] {
            #expect(!html.contains(reference), "the report refers to something outside it: \(reference)")
        }
        #expect(html.hasPrefix("<!doctype html>"))
    }

    /// Support sizes of the full-ranking few-shot curve, as the evaluator keys them.
    static let rankingSizes = [0, 1, 3, 5, 10]
    /// MAML's user-cold recall@20 and nDCG@10 at support size `k` in split seed `seed`.
    static func rankingRecall(k: Int, seed: UInt64) -> Double { 0.1 + 0.01 * Double(k) + 0.004 * Double(seed) }
    static func rankingNDCG(k: Int, seed: UInt64) -> Double {
        0.05 + 0.005 * Double(k) + 0.002 * Double(seed) * Double(k + 1)
    }

    /// Two seeds with full ranking: MAML with a curve at every K, EASE (a ranking baseline) with a
    /// curve at three, popularity and the global mean without one.
    func rankingSummary() throws -> SeedSummary {
        try SeedSummary(
            [0, 1].map { (seed: UInt64) in
                var maml = ReportFixtures.method("MAML", mae: 0.8, curve: [1.0, 0.9])
                maml.scenarios["user-cold"]?.fullRanking = ReportFixtures.ranking(
                    recall: Self.rankingRecall(k: 10, seed: seed), ndcg: 0.2, mrr: 0.3 + 0.1 * Double(seed))
                maml.fullRankingFewShot = Dictionary(
                    uniqueKeysWithValues: Self.rankingSizes.map { k in
                        (
                            String(k),
                            ReportFixtures.ranking(
                                recall: Self.rankingRecall(k: k, seed: seed), ndcg: Self.rankingNDCG(k: k, seed: seed))
                        )
                    })
                var globalMean = ReportFixtures.method("global mean", mae: 0.95, curve: [0.95, 0.95])
                globalMean.scenarios["user-cold"]?.fullRanking = ReportFixtures.ranking(recall: 0.01, ndcg: 0.005)
                var table = ReportFixtures.table(seed: seed, methods: [maml, globalMean])
                var ease = RankingBaselineReport(
                    name: "EASE", scenarios: ["user-cold": ReportFixtures.ranking(recall: 0.4, ndcg: 0.3)], seconds: 1)
                ease.fewShot = Dictionary(
                    uniqueKeysWithValues: [0, 1, 10].map {
                        (String($0), ReportFixtures.ranking(recall: 0.01 + 0.03 * Double($0), ndcg: 0.02))
                    })
                let popularity = RankingBaselineReport(
                    name: "popularity", scenarios: ["user-cold": ReportFixtures.ranking(recall: 0.25, ndcg: 0.15)],
                    seconds: 1)
                table.rankingBaselines = [ease, popularity]
                return ReportBundle(protocol: table)
            })
    }

    /// "mean ± sd" of two seeds' values, the sample standard deviation written out.
    func meanAndSpread(_ first: Double, _ second: Double) -> (mean: Double, text: String) {
        let mean = (first + second) / 2
        let deviation = (((first - mean) * (first - mean) + (second - mean) * (second - mean)) / 1).squareRoot()
        return (mean, String(format: "%.4f ± %.4f", mean, deviation))
    }

    func row(_ name: String, _ cells: [String]) -> String {
        "<tr><th scope=\"row\">\(name)</th>" + cells.map { "<td class=\"number\">\($0)</td>" }.joined() + "</tr>"
    }

    /// The text of the section titled `title`, up to its end.
    func section(_ title: String, in html: String) throws -> String {
        let start = try #require(html.range(of: "<h2>\(title)</h2>"))
        let end = try #require(html.range(of: "</section>", range: start.upperBound..<html.endIndex))
        return String(html[start.lowerBound..<end.lowerBound])
    }

    @Test func fullRankingTableHasEveryMetricPerScenario() throws {
        let html = HTMLReport(try rankingSummary()).render()
        let table = try section("Full ranking", in: html)
        for column in FullRankingResult.columns { #expect(table.contains("user-cold \(column)")) }
        let recall = Self.rankingRecall(k: 10, seed: 0)
        let expected = [
            meanAndSpread(recall - 0.01, recall - 0.01 + 0.004).text, meanAndSpread(recall, recall + 0.004).text,
            "0.2000 ± 0.0000", "0.2100 ± 0.0000", meanAndSpread(0.3, 0.4).text,
        ]
        #expect(table.contains(row("MAML", expected)))
        #expect(table.contains("<th scope=\"row\">popularity</th>"))
    }

    @Test func fullRankingFewShotHasItsTablesAndPlot() throws {
        let html = HTMLReport(try rankingSummary()).render()
        let fewShot = try section("Full ranking, few-shot", in: html)
        // Columns in numeric order of K, not the JSON keys' string order ("10" before "3").
        let headers = Self.rankingSizes.map { "K = \($0)</th>" }
        let positions = try headers.map { try #require(fewShot.range(of: $0)).lowerBound }
        #expect(positions == positions.sorted())
        let recalls = Self.rankingSizes.map {
            meanAndSpread(Self.rankingRecall(k: $0, seed: 0), Self.rankingRecall(k: $0, seed: 1))
        }
        let ndcgs = Self.rankingSizes.map {
            meanAndSpread(Self.rankingNDCG(k: $0, seed: 0), Self.rankingNDCG(k: $0, seed: 1)).text
        }
        #expect(fewShot.contains(row("MAML", recalls.map(\.text))))
        #expect(fewShot.contains(row("MAML", ndcgs)))
        // EASE has no K = 3 or 5: those cells say so; its seeds agree, so its spread is zero.
        let ease = [0, 1, 10].map { meanAndSpread(0.01 + 0.03 * Double($0), 0.01 + 0.03 * Double($0)).text }
        #expect(fewShot.contains(row("EASE", [ease[0], ease[1], "n/a", "n/a", ease[2]])))
        #expect(!fewShot.contains("popularity") && !fewShot.contains("global mean"), "rows without a curve")

        // The plot: recall@20 per K, one series per row with a curve, the baseline dashed.
        #expect(count("<svg class=\"plot\"", in: fewShot) == 1)
        #expect(fewShot.contains("<g class=\"series\" data-series=\"MAML\" data-points=\"5\">"))
        #expect(fewShot.contains("<g class=\"series\" data-series=\"EASE\" data-points=\"3\">"))
        for (index, recall) in recalls.enumerated() {
            #expect(fewShot.contains("data-x=\"\(Double(index))\" data-y=\"\(recall.mean)\""))
        }
        let easeSeries = try #require(fewShot.range(of: "data-series=\"EASE\""))
        let mamlSeries = try #require(fewShot.range(of: "data-series=\"MAML\""))
        #expect(fewShot[easeSeries.upperBound...].prefix(200).contains("stroke-dasharray"))
        #expect(!fewShot[mamlSeries.upperBound...].prefix(200).contains("stroke-dasharray"))
        #expect(count("class=\"error-bar\"", in: fewShot) == 5, "MAML's recall differs between the seeds")
    }

    @Test func reportsWithoutTheRankingCurveHaveNoSection() throws {
        let html = HTMLReport(try summary()).render()
        #expect(!html.contains("Full ranking, few-shot"))
    }

    @Test func ticksAreRoundAndCoverTheRange() {
        let unit = SVGLinePlot.ticks(0, 1)
        #expect(unit.count == 6 && unit.first == 0 && abs(unit.last! - 1) < 1e-12)
        let ticks = SVGLinePlot.ticks(0.73, 0.91)
        #expect(ticks.first! >= 0.73 && ticks.last! <= 0.91 && ticks.count >= 3)
        let steps = zip(ticks, ticks.dropFirst()).map { $1 - $0 }
        #expect(steps.allSatisfy { abs($0 - steps[0]) < 1e-9 })
    }

    func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }
}
