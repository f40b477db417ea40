import Foundation

extension HTMLReport {
    /// The non-meta ranking baselines of Docs/ranking.md, drawn dashed in the full-ranking
    /// few-shot plot beside ``baselineNames``. The hybrid is reported among the ranking rows but
    /// adapts to the user, so it is drawn solid like the methods.
    static let rankingBaselineNames: Set<String> = [
        "popularity", "ItemKNN (cosine)", "EASE", "content KNN", "random order",
    ]

    /// The full-ranking rows that carry a few-shot curve, and the support sizes K of any of them
    /// in numeric order (-1, all of the support, last), as the JSON keys them.
    func fullRankingFewShotRows() -> (rows: [SeedSummary.RankingRowSummary], sizes: [String])? {
        let rows = (summary.fullRanking ?? []).filter { !($0.fewShot ?? [:]).isEmpty }
        let keys: Set<String> = Set(rows.flatMap { row -> [String] in row.fewShot.map { Array($0.keys) } ?? [] })
        let order = { (k: Int) -> Int in k < 0 ? Int.max : k }
        let sizes: [Int] = keys.compactMap { Int($0) }.sorted { order($0) < order($1) }
        guard !rows.isEmpty, !sizes.isEmpty else { return nil }
        return (rows, sizes.map(String.init))
    }

    /// Recall@20 (column 0) or nDCG@10 (column 1) of `row` at support size `k`
    /// (``SeedSummary/RankingRowSummary/fewShot``); nil where the row has no such point.
    static func fewShotValue(_ row: SeedSummary.RankingRowSummary, k: String, column: Int) -> MeanAndSpread? {
        guard let point = row.fewShot?[k], point.indices.contains(column) else { return nil }
        return point[column]
    }

    /// Issue 21's few-shot curve of full ranking: user-cold recall@20 and nDCG@10 when only the
    /// K earliest support ratings are known, as tables (mean ± sd over seeds) and a plot of
    /// recall@20 against K in the style of the rating curve.
    func fullRankingFewShotSection() -> String? {
        guard let (rows, sizes) = fullRankingFewShotRows() else { return nil }
        let labels = sizes.map { $0 == "-1" ? "all" : $0 }
        let series = rows.map { row in
            SVGLinePlot.Series(
                name: row.name,
                points: sizes.enumerated().compactMap { index, k in
                    Self.fewShotValue(row, k: k, column: 0).map {
                        SVGLinePlot.Point(x: Double(index), y: $0.mean, spread: $0.standardDeviation)
                    }
                },
                dashed: baselineNames.contains(row.name) || Self.rankingBaselineNames.contains(row.name))
        }
        var plot = SVGLinePlot(
            title: "User-cold full ranking: recall@20 by support size", xLabel: "support ratings K (earliest first)",
            yLabel: "recall@20", series: series, categories: labels)
        // Taller than the rating curve: the adaptive methods bunch together far below the
        // item-item baselines, and every row of the table is a line.
        plot.height = 440
        let header = ["method"] + labels.map { "K = \($0)" }
        func cells(_ column: Int) -> [[String]] {
            rows.map { row in [row.name] + sizes.map { Self.fewShotValue(row, k: $0, column: column).formatted() } }
        }
        let plotHTML = plot.series.contains { !$0.points.isEmpty } ? plot.svg() : ""
        return section(
            "Full ranking, few-shot",
            plotHTML
                + table(
                    header, cells(0), caption: "User-cold recall@20 with the K earliest support ratings",
                    className: "wrapped-names")
                + table(
                    header, cells(1), caption: "User-cold nDCG@10 with the K earliest support ratings",
                    className: "wrapped-names")
                + "\n<p class=\"note\">Each new user's full ranking (candidates and relevant items as in the table above) when only the K earliest of their support ratings are known; K = 0 is no adaptation. Higher is better. Dashed lines are the rating baselines and the non-meta ranking baselines.</p>"
        )
    }
}
