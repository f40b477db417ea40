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
