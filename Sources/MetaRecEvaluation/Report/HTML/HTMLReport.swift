import Foundation
import MetaRecCore

/// The protocol's report as one self-contained HTML file: inline CSS and inline SVG plots, no
/// scripts, fonts or images fetched from anywhere, so it opens offline and can be mailed. It holds
/// the protocol's tables, full ranking with its few-shot curve, the few-shot curve per method
/// beside the baselines, stream GAUC over the stream per partition, the item warm-up rounds, and
/// each seed's data checksums and wall time.
public struct HTMLReport: Sendable {
    public var summary: SeedSummary
    /// Baselines (Docs/protocol.md) are drawn dashed so the meta-learners stand out.
    public var baselineNames: Set<String> = ["global mean", "user mean", "item mean"]
    /// `metarec-benchmark scale`'s figures, drawn as a section when given (`metarec report --scale`).
    public var scaleCurves: ScaleCurves?

    public init(_ summary: SeedSummary) {
        self.summary = summary
    }

    public func render() -> String {
        var body: [String] = []
        let seeds = summary.seeds.map(String.init).joined(separator: ", ")
        let feedback = summary.implicitFeedback ? "implicit (clicks)" : "explicit (ratings)"
        body.append("<header><h1>MetaRec report: \(HTML.escape(summary.dataset))</h1>")
        body.append(
            "<p>Protocol coldstart-v1 (Docs/protocol.md), \(feedback) feedback, split seed\(summary.runs.count == 1 ? "" : "s") \(seeds)"
                + (summary.runs.count > 1
                    ? "; figures are mean ± sample standard deviation over the seeds, error bars one standard deviation."
                    : ".")
                + " MetaRec \(HTML.escape(MetaRecVersion.string)).</p></header>")
        if !summary.scenarios.isEmpty { body.append(protocolTable()) }
        if let ranking = fullRankingTable() { body.append(ranking) }
        if let rankingFewShot = fullRankingFewShotSection() { body.append(rankingFewShot) }
        if let plot = fewShotPlot() { body.append(section("Few-shot curve", plot.svg() + fewShotNote())) }
        if !summary.streaming.isEmpty { body.append(streamingSection()) }
        if !summary.itemWarmUp.isEmpty { body.append(warmUpSection()) }
        if let scaleCurves { body.append(scaleSection(scaleCurves)) }
        body.append(provenance())
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>MetaRec report: \(HTML.escape(summary.dataset))</title>
            <style>\(Self.style)</style>
            </head>
            <body>
            <main>
            \(body.joined(separator: "\n"))
            </main>
            </body>
            </html>

            """
    }

    func section(_ title: String, _ content: String) -> String {
        "<section><h2>\(HTML.escape(title))</h2>\n\(content)\n</section>"
    }

    func table(_ header: [String], _ rows: [[String]], caption: String? = nil, className: String? = nil) -> String {
        var lines = ["<div class=\"table-wrap\"><table\(className.map { " class=\"\($0)\"" } ?? "")>"]
        if let caption { lines.append("<caption>\(HTML.escape(caption))</caption>") }
        lines.append(
            "<thead><tr>"
                + header.enumerated().map {
                    "<th\($0.offset == 0 ? " scope=\"col\"" : " class=\"number\" scope=\"col\"")>\(HTML.escape($0.element))</th>"
                }.joined() + "</tr></thead>")
        lines.append("<tbody>")
        for row in rows {
            lines.append(
                "<tr>"
                    + row.enumerated().map {
                        $0.offset == 0
                            ? "<th scope=\"row\">\(HTML.escape($0.element))</th>"
                            : "<td class=\"number\">\(HTML.escape($0.element))</td>"
                    }.joined() + "</tr>")
        }
        lines.append("</tbody></table></div>")
        return lines.joined(separator: "\n")
    }

    func protocolTable() -> String {
        let metrics: [(String, (SeedSummary.ScenarioSummary) -> MeanAndSpread?)] =
            summary.implicitFeedback
            ? [("AUC", \.auc), ("nDCG@3", \.ndcgAt3)]
            : [("MAE", \.meanAbsoluteError), ("RMSE", \.rootMeanSquaredError), ("nDCG@3", \.ndcgAt3)]
        let header = ["method"] + summary.scenarios.flatMap { scenario in metrics.map { "\(scenario) \($0.0)" } }
        var rows = summary.methods.map { method in
            [method.name]
                + summary.scenarios.flatMap { scenario in
                    metrics.map { method.scenarios[scenario].flatMap($0.1).formatted() }
                }
        }
        rows.append(
            ["random order"]
                + summary.scenarios.flatMap { scenario in
                    metrics.map {
                        $0.0 == "nDCG@3"
                            ? summary.randomOrderNDCG[scenario].formatted() : ($0.0 == "AUC" ? "0.5000" : "")
                    }
                })
        let counts = summary.scenarios.map { "\($0): \(summary.taskCounts[$0].formatted(digits: 0))" }.joined(
            separator: ", ")
        return section(
            "Protocol table",
            table(header, rows) + "\n<p class=\"note\">Test tasks per scenario: \(HTML.escape(counts)). "
                + "Lower MAE and RMSE are better, higher AUC and nDCG@3; the random-order row is the nDCG floor.</p>")
    }

    /// The full-ranking table: methods and the non-meta ranking baselines on the whole item set.
    func fullRankingTable() -> String? {
        guard let rows = summary.fullRanking, !rows.isEmpty else { return nil }
        let shown = summary.scenarios.filter { scenario in rows.contains { $0.scenarios[scenario] != nil } }
        guard !shown.isEmpty else { return nil }
        let header = ["method"] + shown.flatMap { scenario in FullRankingResult.columns.map { "\(scenario) \($0)" } }
        let cells = rows.map { row in
            [row.name]
                + shown.flatMap { scenario in
                    (row.scenarios[scenario] ?? Array(repeating: nil, count: FullRankingResult.columns.count)).map {
                        $0.formatted()
                    }
                }
        }
        let relevant = summary.implicitFeedback ? "the query's clicks" : "query items rated ≥ 4"
        return section(
            "Full ranking",
            table(header, cells)
                + "\n<p class=\"note\">Candidates: every item of the scenario's item set the user has not rated outside the task's query; relevant: \(HTML.escape(relevant)); tasks without a relevant item are left out. Higher is better.</p>"
        )
    }

    /// Few-shot curve: user-cold metric against support size K, one series per method.
    func fewShotPlot() -> SVGLinePlot? {
        let sizes = SeedSummary.ordered(summary.methods.flatMap { $0.fewShot.map { String($0.k) } }).compactMap(
            Int.init)
        guard !sizes.isEmpty else { return nil }
        let series = summary.methods.map { method in
            SVGLinePlot.Series(
                name: method.name,
                points: sizes.enumerated().compactMap { index, k in
                    guard let point = method.fewShot.first(where: { $0.k == k }),
                        let value = summary.implicitFeedback ? point.auc : point.meanAbsoluteError
                    else { return nil }
                    return SVGLinePlot.Point(x: Double(index), y: value.mean, spread: value.standardDeviation)
                }, dashed: baselineNames.contains(method.name))
        }
        return SVGLinePlot(
            title: "User-cold \(summary.fewShotMetricName) by support size",
            xLabel: "support ratings K (earliest first)",
            yLabel: summary.fewShotMetricName, series: series, categories: sizes.map { $0 < 0 ? "all" : String($0) })
    }

    func fewShotNote() -> String {
        "<p class=\"note\">K = 0 is no adaptation; \(summary.implicitFeedback ? "higher is better" : "lower is better"). Dashed lines are the baselines.</p>"
    }

    /// One plot per partition: cumulative stream GAUC against the share of the stream seen.
    func streamingPlots() -> [SVGLinePlot] {
        SeedSummary.ordered(summary.streaming.map(\.partition)).map { partition in
            let rows = summary.streaming.filter { $0.partition == partition }
            let series = rows.map { row in
                SVGLinePlot.Series(
                    name: row.condition,
                    points: row.curve.compactMap { point in
                        point.gauc.map {
                            SVGLinePlot.Point(x: point.fraction * 100, y: $0.mean, spread: $0.standardDeviation)
                        }
                    }, dashed: row.condition == "offline only")
            }
            return SVGLinePlot(
                title: "Stream GAUC, partition \(partition)", xLabel: "new users seen (% of the stream)",
                yLabel: "GAUC so far", series: series)
        }
    }

    func streamingSection() -> String {
        let plots = streamingPlots().filter { plot in plot.series.contains { !$0.points.isEmpty } }
        let rows = summary.streaming.map {
            [$0.partition + ", " + $0.condition, $0.auc.formatted(), $0.meanAbsoluteError.formatted()]
        }
        let plotsHTML =
            plots.isEmpty
            ? "<p class=\"note\">No stream curve: the report predates it or no stream user had both classes.</p>"
            : "<div class=\"plots\">" + plots.map { $0.svg() }.joined(separator: "\n") + "</div>"
        return section(
            "Streaming new users",
            plotsHTML + table(["partition, condition", "stream AUC", "stream MAE"], rows)
                + "<p class=\"note\">Users stream in the order of their first interaction; each is predicted before it is learned from. GAUC is the mean per-user AUC of the users seen so far.</p>"
        )
    }

    func warmUpSection() -> String {
        let phases = summary.itemWarmUp.first?.phases.map(\.phase) ?? []
        let metric = summary.implicitFeedback ? "GAUC" : "MAE"
        let value: (SeedSummary.PhaseSummary) -> MeanAndSpread? =
            summary.implicitFeedback ? { $0.gauc } : { $0.meanAbsoluteError }
        let series = summary.itemWarmUp.map { row in
            SVGLinePlot.Series(
                name: row.initialisation,
                points: row.phases.enumerated().compactMap { index, phase in
                    value(phase).map { SVGLinePlot.Point(x: Double(index), y: $0.mean, spread: $0.standardDeviation) }
                })
        }
        let plot = SVGLinePlot(
            title: "Item warm-up: \(metric) per round", xLabel: "warm-up round", yLabel: metric,
            series: series, categories: phases)
        let rows = summary.itemWarmUp.map { row in [row.initialisation] + row.phases.map { value($0).formatted() } }
        return section(
            "Item warm-up (MetaEmb)",
            plot.svg() + table(["initialisation"] + phases, rows)
                + "<p class=\"note\">Each new item's ID embedding starts from the initialisation, then takes SGD steps on warm-up batches a, b and c (Pan et al. 2019).</p>"
        )
    }

    func provenance() -> String {
        let rows = summary.runs.flatMap { run -> [[String]] in
            let time = String(format: "%.1f s", run.wallSeconds)
            if run.checksums.isEmpty { return [[String(run.seed), "", "", time]] }
            return run.checksums.keys.sorted().map { [String(run.seed), $0, run.checksums[$0]!, time] }
        }
        return section("Data and runs", table(["seed", "file", "SHA-256", "wall time"], rows, className: "provenance"))
    }

    static let style = """
        :root { color-scheme: light; --ink: #1d2330; --muted: #5b6372; --rule: #d5d9e0; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #fbfbfc; }
        main { max-width: 980px; margin: 0 auto; padding: 16px; }
        h1 { font-size: 1.6em; margin: 0.4em 0; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid var(--rule); }
        .note { color: var(--muted); font-size: 0.92em; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; margin: 0.6em 0; font-variant-numeric: tabular-nums; }
        th, td { padding: 4px 8px; border-bottom: 1px solid var(--rule); text-align: left; white-space: nowrap; vertical-align: top; }
        thead th { white-space: normal; }
        table.provenance td, table.provenance th { white-space: normal; overflow-wrap: anywhere; text-align: left; }
        table.provenance th:first-child { min-width: 3em; }
        td.number, th.number { text-align: right; }
        caption { text-align: left; font-weight: 600; padding: 2px 8px; }
        table.wrapped-names tbody th { white-space: normal; min-width: 12em; }
        tbody tr:nth-child(even) { background: #f0f2f5; }
        .plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); gap: 12px; }
        svg.plot { width: 100%; max-width: 680px; height: auto; background: #fff; border: 1px solid var(--rule); }
        svg .grid { stroke: #e4e7ec; } svg .frame { fill: none; stroke: #8a909c; } svg .tick-mark { stroke: #8a909c; }
        svg text { font-size: 12px; fill: var(--ink); } svg .plot-title { font-size: 14px; font-weight: 600; }
        svg .line { fill: none; stroke-width: 2; } svg .error-bar { fill: none; stroke-width: 1.2; }
        """
}

extension HTMLReport {
    /// Renders `bundles` (one per split seed) into `path`, written atomically.
    public static func write(_ bundles: [ReportBundle], toFile path: String) throws {
        let html = HTMLReport(try SeedSummary(bundles)).render()
        try html.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
