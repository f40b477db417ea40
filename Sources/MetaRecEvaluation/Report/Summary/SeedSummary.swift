import Foundation

/// Several split seeds' reports of one data set merged into mean and spread per figure, as the
/// protocol asks figures to be reported (Docs/protocol.md: seeds 0, 1, 2). One seed's report is a
/// summary too, with no spread. The HTML report and `metarec report` render from it.
public struct SeedSummary: Sendable, Codable {
    /// Where one seed's figures came from.
    public struct Run: Sendable, Codable, Equatable {
        public var seed: UInt64
        public var checksums: [String: String]
        public var wallSeconds: Double
    }

    public struct ScenarioSummary: Sendable, Codable, Equatable {
        public var meanAbsoluteError: MeanAndSpread?
        public var rootMeanSquaredError: MeanAndSpread?
        public var ndcgAt3: MeanAndSpread?
        public var auc: MeanAndSpread?
    }

    public struct FewShotSummary: Sendable, Codable, Equatable {
        /// Support size; -1 stands for all of it.
        public var k: Int
        public var meanAbsoluteError: MeanAndSpread?
        public var auc: MeanAndSpread?
    }

    public struct MethodSummary: Sendable, Codable, Equatable {
        public var name: String
        public var scenarios: [String: ScenarioSummary]
        public var fewShot: [FewShotSummary]
    }

    public struct StreamPointSummary: Sendable, Codable, Equatable {
        public var fraction: Double
        public var gauc: MeanAndSpread?
        public var meanAbsoluteError: MeanAndSpread?
    }

    public struct StreamSummary: Sendable, Codable, Equatable {
        public var partition: String
        public var condition: String
        public var auc: MeanAndSpread?
        public var meanAbsoluteError: MeanAndSpread?
        public var curve: [StreamPointSummary]
        /// Stream AUC minus the same partition's offline-only stream AUC, per seed (paired).
        public var aucGain: MeanAndSpread?
        /// Earlier (offline) users' AUC and MAE before and after the stream: forgetting.
        public var earlierAUCBefore: MeanAndSpread?
        public var earlierAUCAfter: MeanAndSpread?
        public var earlierMAEBefore: MeanAndSpread?
        public var earlierMAEAfter: MeanAndSpread?
        public var bytesPerUser: Int?
        /// The online learning rates used, per seed (empty offline only).
        public var learningRates: [Float]?
    }

    public struct PhaseSummary: Sendable, Codable, Equatable {
        public var phase: String
        public var meanAbsoluteError: MeanAndSpread?
        public var rootMeanSquaredError: MeanAndSpread?
        public var loss: MeanAndSpread?
        public var auc: MeanAndSpread?
        public var gauc: MeanAndSpread?
    }

    public struct WarmUpSummary: Sendable, Codable, Equatable {
        public var initialisation: String
        public var phases: [PhaseSummary]
    }

    /// One row of the full-ranking table (a method or a ranking baseline), per scenario.
    public struct RankingRowSummary: Sendable, Codable, Equatable {
        public var name: String
        /// Per scenario, the metrics in ``FullRankingResult/columns`` order.
        public var scenarios: [String: [MeanAndSpread?]]
        /// User-cold recall@20 and nDCG@10 by few-shot K ("0", "1", ...); nil without a curve.
        public var fewShot: [String: [MeanAndSpread?]]?
    }

    public var dataset: String
    public var implicitFeedback: Bool
    public var runs: [Run]
    public var scenarios: [String]
    public var taskCounts: [String: MeanAndSpread]
    public var randomOrderNDCG: [String: MeanAndSpread]
    public var methods: [MethodSummary]
    public var streaming: [StreamSummary]
    public var itemWarmUp: [WarmUpSummary]
    /// The full-ranking table; nil when no report had one.
    public var fullRanking: [RankingRowSummary]?

    public var seeds: [UInt64] { runs.map(\.seed) }

    /// Merges one report per split seed.
    /// - Throws: `ReportMergeError` when the reports are of different data sets or feedback
    ///   kinds, or two share a seed (which would understate the spread).
    public init(_ bundles: [ReportBundle]) throws(ReportMergeError) {
        guard let first = bundles.first, let dataset = first.dataset else { throw .empty }
        var seen: Set<UInt64> = []
        for (index, bundle) in bundles.enumerated() {
            guard bundle.dataset == dataset else {
                throw .differentDatasets(expected: dataset, found: bundle.dataset ?? "none", report: index + 1)
            }
            guard let seed = bundle.seed, seen.insert(seed).inserted else {
                throw .repeatedSeed(bundle.seed ?? 0, report: index + 1)
            }
        }
        let implicit = first.protocol?.implicitFeedback ?? first.itemWarmUp?.implicitFeedback ?? false
        for (index, bundle) in bundles.enumerated() {
            let kind = bundle.protocol?.implicitFeedback ?? bundle.itemWarmUp?.implicitFeedback ?? implicit
            guard kind == implicit else { throw .differentFeedback(report: index + 1) }
        }
        self.dataset = dataset
        self.implicitFeedback = implicit
        runs = bundles.map { bundle in
            Run(
                seed: bundle.seed ?? 0,
                checksums: bundle.protocol?.checksums ?? [:],
                wallSeconds: (bundle.protocol?.wallSeconds ?? 0) + (bundle.itemWarmUp?.wallSeconds ?? 0))
        }
        let tables = bundles.compactMap(\.protocol)
        scenarios = Self.ordered(tables.flatMap(\.scenarios))
        var counts: [String: MeanAndSpread] = [:]
        var floors: [String: MeanAndSpread] = [:]
        for scenario in scenarios {
            counts[scenario] = MeanAndSpread(tables.map { $0.taskCounts[scenario].map(Double.init) })
            floors[scenario] = MeanAndSpread(tables.map { $0.randomOrderNDCG[scenario] })
        }
        taskCounts = counts
        randomOrderNDCG = floors
        methods = Self.ordered(tables.flatMap { $0.methods.map(\.name) }).map { name in
            Self.summarise(method: name, rows: tables.compactMap { $0.methods.first { $0.name == name } })
        }
        fullRanking = Self.summarise(rankingOf: tables)
        streaming = Self.summarise(streams: bundles.compactMap(\.streaming))
        itemWarmUp = Self.summarise(warmUps: bundles.compactMap(\.itemWarmUp))
    }

    /// Distinct values in order of first appearance.
    static func ordered(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }

    static func summarise(method name: String, rows: [MethodReport]) -> MethodSummary {
        let scenarioNames = ordered(rows.flatMap { $0.scenarios.keys.sorted() })
        var scenarios: [String: ScenarioSummary] = [:]
        for scenario in scenarioNames {
            let results = rows.compactMap { $0.scenarios[scenario] }
            scenarios[scenario] = ScenarioSummary(
                meanAbsoluteError: MeanAndSpread(results.map(\.meanAbsoluteError)),
                rootMeanSquaredError: MeanAndSpread(results.map(\.rootMeanSquaredError)),
                ndcgAt3: MeanAndSpread(results.map(\.ndcgAt3)), auc: MeanAndSpread(results.map(\.auc)))
        }
        var sizes: [Int] = []
        for k in rows.flatMap({ $0.fewShot.map(\.k) }) where !sizes.contains(k) { sizes.append(k) }
        let fewShot = sizes.map { k in
            let points = rows.compactMap { $0.fewShot.first { $0.k == k } }
            return FewShotSummary(
                k: k, meanAbsoluteError: MeanAndSpread(points.map(\.meanAbsoluteError)),
                auc: MeanAndSpread(points.map(\.auc)))
        }
        return MethodSummary(name: name, scenarios: scenarios, fewShot: fewShot)
    }

    /// Methods' full ranking, then the ranking baselines, matched by name across seeds.
    static func summarise(rankingOf tables: [EvaluationReport]) -> [RankingRowSummary]? {
        let perSeed: [[(String, [String: FullRankingResult])]] = tables.map { table in
            table.methods.map { ($0.name, $0.scenarios.compactMapValues(\.fullRanking)) }
                + (table.rankingBaselines ?? []).map { ($0.name, $0.scenarios) }
        }
        let curvesPerSeed: [[String: [String: FullRankingResult]]] = tables.map { table in
            var curves: [String: [String: FullRankingResult]] = [:]
            for method in table.methods { curves[method.name] = method.fullRankingFewShot }
            for row in table.rankingBaselines ?? [] { curves[row.name] = row.fewShot }
            return curves
        }
        let names = ordered(perSeed.flatMap { $0.filter { !$0.1.isEmpty }.map(\.0) })
        guard !names.isEmpty else { return nil }
        return names.map { name in
            let rows = perSeed.compactMap { rows in rows.first { $0.0 == name }?.1 }
            var scenarios: [String: [MeanAndSpread?]] = [:]
            for scenario in ordered(rows.flatMap { $0.keys.sorted() }) {
                let results = rows.compactMap { $0[scenario] }
                scenarios[scenario] = FullRankingResult.columns.indices.map { column in
                    MeanAndSpread(results.map { $0.values[column] })
                }
            }
            let curves = curvesPerSeed.compactMap { $0[name] }
            var fewShot: [String: [MeanAndSpread?]] = [:]
            for k in Set(curves.flatMap(\.keys)) {
                let points = curves.compactMap { $0[k] }
                fewShot[k] = [MeanAndSpread(points.map(\.recallAt20)), MeanAndSpread(points.map(\.ndcgAt10))]
            }
            return RankingRowSummary(name: name, scenarios: scenarios, fewShot: fewShot.isEmpty ? nil : fewShot)
        }
    }

    /// The full-ranking table as markdown lines (none without one).
    func fullRankingMarkdown() -> [String] {
        guard let rows = fullRanking, !rows.isEmpty else { return [] }
        let shown = scenarios.filter { scenario in rows.contains { $0.scenarios[scenario] != nil } }
        guard !shown.isEmpty else { return [] }
        var lines = [
            "Full ranking (every item of the scenario's item set the user has not rated outside the query; relevant: \(implicitFeedback ? "clicks" : "rated ≥ 4")):",
            "",
            "| method |"
                + shown.flatMap { scenario in FullRankingResult.columns.map { " \(scenario) \($0) |" } }.joined(),
            "|---|" + String(repeating: "---:|", count: shown.count * FullRankingResult.columns.count),
        ]
        for row in rows {
            let cells = shown.flatMap { scenario in
                (row.scenarios[scenario] ?? Array(repeating: nil, count: FullRankingResult.columns.count)).map {
                    " \($0.formatted()) |"
                }
            }
            lines.append("| \(row.name) |" + cells.joined())
        }
        lines.append("")
        lines.append(
            contentsOf: FullRankingFewShot.markdown(
                rows.compactMap { row in
                    row.fewShot.map { (row.name, $0.mapValues { $0.map { $0.formatted() } }) }
                }))
        return lines
    }

    /// Rows matched by partition and condition; curves point by point (each seed's stream has
    /// the same number of evenly spaced points unless it is shorter than `StreamPoint.count`).
    static func summarise(streams: [StreamingReport]) -> [StreamSummary] {
        let keys = streams.flatMap { $0.rows.map { "\($0.partition)\u{1F}\($0.condition)" } }
        return ordered(keys).map { key in
            let parts = key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            let rows = streams.compactMap { $0.rows.first { $0.partition == parts[0] && $0.condition == parts[1] } }
            let curves = rows.compactMap(\.curve).filter { !$0.isEmpty }
            let length = curves.map(\.count).min() ?? 0
            let curve = (0..<length).map { index in
                StreamPointSummary(
                    fraction: curves.map { $0[index].fraction }.reduce(0, +) / Double(curves.count),
                    gauc: MeanAndSpread(curves.map { $0[index].gauc }),
                    meanAbsoluteError: MeanAndSpread(curves.map { $0[index].meanAbsoluteError }))
            }
            let gains = streams.compactMap { stream -> Double? in
                guard let row = stream.rows.first(where: { $0.partition == parts[0] && $0.condition == parts[1] }),
                    let offline = stream.rows.first(where: {
                        $0.partition == parts[0] && $0.condition == StreamingReport.offlineCondition
                    }),
                    let auc = row.auc, let base = offline.auc
                else { return nil }
                return auc - base
            }
            return StreamSummary(
                partition: parts[0], condition: parts[1], auc: MeanAndSpread(rows.map(\.auc)),
                meanAbsoluteError: MeanAndSpread(rows.map(\.meanAbsoluteError)), curve: curve,
                aucGain: MeanAndSpread(gains), earlierAUCBefore: MeanAndSpread(rows.map(\.earlierBefore.auc)),
                earlierAUCAfter: MeanAndSpread(rows.map(\.earlierAfter.auc)),
                earlierMAEBefore: MeanAndSpread(rows.map(\.earlierBefore.meanAbsoluteError)),
                earlierMAEAfter: MeanAndSpread(rows.map(\.earlierAfter.meanAbsoluteError)),
                bytesPerUser: rows.first?.bytesPerUser, learningRates: rows.compactMap(\.learningRate))
        }
    }

    static func summarise(warmUps: [ItemWarmUpReport]) -> [WarmUpSummary] {
        ordered(warmUps.flatMap { $0.rows.map(\.initialisation) }).map { name in
            let rows = warmUps.compactMap { $0.rows.first { $0.initialisation == name } }
            let phases = ordered(rows.flatMap { $0.phases.map(\.phase) }).map { phase in
                let results = rows.compactMap { $0.phases.first { $0.phase == phase } }
                return PhaseSummary(
                    phase: phase, meanAbsoluteError: MeanAndSpread(results.map(\.meanAbsoluteError)),
                    rootMeanSquaredError: MeanAndSpread(results.map(\.rootMeanSquaredError)),
                    loss: MeanAndSpread(results.map(\.loss)), auc: MeanAndSpread(results.map(\.auc)),
                    gauc: MeanAndSpread(results.map(\.gauc)))
            }
            return WarmUpSummary(initialisation: name, phases: phases)
        }
    }

    /// The headline metric of the few-shot curve: AUC for clicks, MAE for ratings.
    public var fewShotMetricName: String { implicitFeedback ? "AUC" : "MAE" }

    /// Markdown tables of every figure as mean ± standard deviation over the seeds.
    public func markdown() -> String {
        var lines = [
            "## \(dataset): \(runs.count) seed\(runs.count == 1 ? "" : "s") (\(seeds.map(String.init).joined(separator: ", "))), mean ± sd",
            "",
        ]
        if !scenarios.isEmpty {
            let metrics: [(String, (ScenarioSummary) -> MeanAndSpread?)] =
                implicitFeedback
                ? [("AUC", \.auc), ("nDCG@3", \.ndcgAt3)]
                : [("MAE", \.meanAbsoluteError), ("RMSE", \.rootMeanSquaredError), ("nDCG@3", \.ndcgAt3)]
            lines.append(
                "| method |" + scenarios.flatMap { scenario in metrics.map { " \(scenario) \($0.0) |" } }.joined())
            lines.append("|---|" + String(repeating: "---:|", count: scenarios.count * metrics.count))
            for method in methods {
                lines.append(
                    "| \(method.name) |"
                        + scenarios.flatMap { scenario in
                            metrics.map { " \(method.scenarios[scenario].flatMap($0.1).formatted()) |" }
                        }.joined())
            }
            lines.append(
                "| random order |"
                    + scenarios.flatMap { scenario in
                        metrics.map {
                            $0.0 == "nDCG@3"
                                ? " \(randomOrderNDCG[scenario].formatted()) |" : ($0.0 == "AUC" ? " 0.5000 |" : " |")
                        }
                    }.joined())
            lines.append("")
        }
        lines.append(contentsOf: fullRankingMarkdown())
        if let sizes = methods.first?.fewShot.map(\.k), !sizes.isEmpty {
            lines.append("Few-shot curve (user-cold \(fewShotMetricName) with the K earliest support ratings):")
            lines.append("")
            lines.append("| method | " + sizes.map { $0 < 0 ? "K = all" : "K = \($0)" }.joined(separator: " | ") + " |")
            lines.append("|---|" + String(repeating: "---:|", count: sizes.count))
            for method in methods {
                let cells = sizes.map { k in
                    method.fewShot.first { $0.k == k }.flatMap { implicitFeedback ? $0.auc : $0.meanAbsoluteError }
                        .formatted()
                }
                lines.append("| \(method.name) | " + cells.joined(separator: " | ") + " |")
            }
            lines.append("")
        }
        if !streaming.isEmpty {
            lines.append("Streaming new users:")
            lines.append("")
            lines.append(
                "| partition | condition | stream AUC | AUC − offline only | stream MAE | earlier users' AUC before → after | earlier users' MAE before → after | bytes per user | online rate per seed |"
            )
            lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
            for row in streaming {
                let rates = (row.learningRates ?? []).map { "\($0)" }.joined(separator: ", ")
                lines.append(
                    "| \(row.partition) | \(row.condition) | \(row.auc.formatted()) | \(row.aucGain.formatted()) | "
                        + "\(row.meanAbsoluteError.formatted()) | "
                        + "\(row.earlierAUCBefore.formatted()) → \(row.earlierAUCAfter.formatted()) | "
                        + "\(row.earlierMAEBefore.formatted()) → \(row.earlierMAEAfter.formatted()) | "
                        + "\(row.bytesPerUser.map(String.init) ?? "–") | \(rates.isEmpty ? "–" : rates) |")
            }
            lines.append("")
        }
        if !itemWarmUp.isEmpty {
            let phases = itemWarmUp.first?.phases.map(\.phase) ?? []
            lines.append("Item warm-up (\(implicitFeedback ? "GAUC" : "MAE") per round):")
            lines.append("")
            lines.append("| initialisation | " + phases.joined(separator: " | ") + " |")
            lines.append("|---|" + String(repeating: "---:|", count: phases.count))
            for row in itemWarmUp {
                lines.append(
                    "| \(row.initialisation) | "
                        + row.phases.map { (implicitFeedback ? $0.gauc : $0.meanAbsoluteError).formatted() }.joined(
                            separator: " | ") + " |")
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}

/// Reports that cannot be merged into one summary.
public enum ReportMergeError: Error, Equatable, CustomStringConvertible {
    case empty
    case differentDatasets(expected: String, found: String, report: Int)
    case differentFeedback(report: Int)
    case repeatedSeed(UInt64, report: Int)

    /// The 1-based position of the offending report among those merged.
    public var report: Int? {
        switch self {
        case .empty: nil
        case .differentDatasets(_, _, let report), .differentFeedback(let report), .repeatedSeed(_, let report): report
        }
    }

    public var description: String {
        switch self {
        case .empty: "no report to merge: give at least one JSON report written by 'metarec evaluate --json'"
        case .differentDatasets(let expected, let found, let report):
            "report \(report) is of data set '\(found)', the first of '\(expected)': merge the seeds of one data set only"
        case .differentFeedback(let report):
            "report \(report) has another feedback kind (explicit or implicit) than the first"
        case .repeatedSeed(let seed, let report):
            "report \(report) repeats split seed \(seed): each seed's report may be merged once"
        }
    }
}
