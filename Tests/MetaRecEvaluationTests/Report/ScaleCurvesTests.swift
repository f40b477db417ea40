import Foundation
import Testing

@testable import MetaRecEvaluation

/// `metarec-benchmark scale --json` output is read back and drawn by the HTML report.
struct ScaleCurvesTests {
    func curves() -> ScaleCurves {
        ScaleCurves(
            loadAverage: "1.00 2.00 3.00", kernels: "OpenBLAS, core Haswell",
            data: [
                ScaleCurves.DataPoint(
                    interactions: 1_000_000, users: 6_502, items: 12_485, inputBytes: 25_000_000, readSeconds: 0.5,
                    splitSeconds: 0.25, peakResidentBytes: 1 << 29, epochTasks: 4_000, timedTasks: 1_000,
                    timedSeconds: 2)
            ],
            ranking: [10_000, 1_000].flatMap { items in
                ["OpenBLAS", "portable Swift"].flatMap { kernels in
                    ["decision-layers", "covariance-head"].map { kind in
                        ScaleCurves.RankingPoint(
                            kind: kind, kernels: kernels, items: items, p50Seconds: items == 10_000 ? 0.001 : 0.0001,
                            p99Seconds: items == 10_000 ? 0.002 : 0.0002, samples: 100)
                    }
                }
            })
    }

    @Test func roundTripsThroughItsJSONFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scale-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try curves().write(to: url)
        #expect(try ScaleCurves(contentsOf: url) == curves())
    }

    @Test func refusesAFileOfAnotherShape() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scale-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"loadAverage": "1"}"#.utf8).write(to: url)
        #expect(throws: DecodingError.self) { try ScaleCurves(contentsOf: url) }
    }

    @Test func epochIsExtrapolatedFromTheTimedTasks() {
        #expect(curves().data[0].epochSeconds == 8)  // 2 s for 1,000 of 4,000 tasks
    }

    @Test func reportDrawsTablesAndOnePlotFromTheFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scale-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try curves().write(to: url)
        var report = HTMLReport(try HTMLReportTests().summary())
        let without = report.render()
        #expect(!without.contains("Scale curves"))
        report.scaleCurves = try ScaleCurves(contentsOf: url)
        let html = report.render()
        #expect(html.contains("<h2>Scale curves</h2>"))
        #expect(html.contains("1M"), "the data table names the size")
        // One series per kind and kernels, a point per catalogue size, sizes in increasing order.
        #expect(html.contains("data-series=\"decision-layers, OpenBLAS\" data-points=\"2\""))
        #expect(html.contains("data-series=\"covariance-head, portable Swift\" data-points=\"2\""))
        #expect(html.contains("1k items") && html.contains("10k items"))
        #expect(html.range(of: "1k items")!.lowerBound < html.range(of: "10k items")!.lowerBound)
        // log10 of 1 ms (the 10k p50) is 0.
        #expect(html.contains("data-x=\"1.0\" data-y=\"0.0\""))
        #expect(html.contains("1.000 / 2.000"), "p50 / p99 in ms")
        #expect(html.contains("8.0 (from 1000 of 4000 tasks)"))
    }
}
