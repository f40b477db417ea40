import Foundation
import MetaRecCore
import MetaRecData

/// The protocol's table for one data set: rows are methods, columns scenario × metric, with the
/// few-shot curve, the random-order nDCG floor, the seed, the files' checksums and the wall time.
public struct EvaluationReport: Sendable, Codable {
    public var dataset: String
    public var seed: UInt64
    public var implicitFeedback: Bool
    public var checksums: [String: String]
    public var scenarios: [String]
    public var taskCounts: [String: Int]
    public var randomOrderNDCG: [String: Double]
    public var methods: [MethodReport]
    public var wallSeconds: Double
    /// Test scenarios without a task, each with the reason: every scenario is accounted for.
    public var missingScenarios: [String: String]?
    /// What the ranking metrics rank (implicit feedback): the query items, sampled or not.
    public var candidateSet: String?
    /// How negatives were sampled for a positive-only log, when they were.
    public var negativeSampling: String?
    /// Which rule made items new (release date, or first interaction where there is none).
    public var newItemRule: String?
    /// What the data lets the scenarios measure, e.g. a side without features.
    public var notes: [String]?
    /// The non-meta full-ranking baselines (popularity, ItemKNN, EASE, content KNN) and the random
    /// order, and how their choices were made; nil in reports written before full ranking.
    public var rankingBaselines: [RankingBaselineReport]?
    public var fullRankingNotes: [String]?

    public init(
        dataset: String, seed: UInt64, implicitFeedback: Bool, checksums: [String: String],
        scenarios: [String], taskCounts: [String: Int], randomOrderNDCG: [String: Double],
        methods: [MethodReport], wallSeconds: Double
    ) {
        self.dataset = dataset
        self.seed = seed
        self.implicitFeedback = implicitFeedback
        self.checksums = checksums
        self.scenarios = scenarios
        self.taskCounts = taskCounts
        self.randomOrderNDCG = randomOrderNDCG
        self.methods = methods
        self.wallSeconds = wallSeconds
    }

    public func json() throws -> String { try JSONFormat.string(self) }

    private func signed(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return String(format: "%+.3f", value)
    }

    /// The full-ranking table: every method and ranking baseline on each scenario's whole item set.
    func fullRankingMarkdown() -> [String] {
        let rows: [(String, [String: FullRankingResult])] =
            methods.map { method in (method.name, method.scenarios.compactMapValues(\.fullRanking)) }
            + (rankingBaselines ?? []).map { ($0.name, $0.scenarios) }
        let shown = scenarios.filter { scenario in rows.contains { $0.1[scenario] != nil } }
        guard !shown.isEmpty else { return [] }
        let relevant = implicitFeedback ? "the query's clicks" : "query items rated ≥ 4"
        var lines = [
            "Full ranking (Docs/protocol.md): candidates are every item of the scenario's item set the user has not rated outside the query; relevant: \(relevant); ties in random order.",
            "",
        ]
        let counts = shown.compactMap { scenario -> String? in
            guard let result = rows.lazy.compactMap({ $0.1[scenario] }).first else { return nil }
            return "\(scenario) \(result.tasks) (\(result.tasksWithoutRelevant) without a relevant item left out), "
                + String(format: "%.0f candidates per task", result.meanCandidates)
        }
        lines.append("Tasks ranked: " + counts.joined(separator: "; ") + ".")
        for note in fullRankingNotes ?? [] { lines.append("Note: \(note)") }
        lines.append("")
        lines.append(
            "| method |"
                + shown.flatMap { scenario in FullRankingResult.columns.map { " \(scenario) \($0) |" } }.joined())
        lines.append("|---|" + String(repeating: "---:|", count: shown.count * FullRankingResult.columns.count))
        for (name, results) in rows {
            let cells = shown.flatMap { scenario in
                results[scenario].map { $0.values.map { String(format: " %.4f |", $0) } }
                    ?? Array(repeating: " n/a |", count: FullRankingResult.columns.count)
            }
            lines.append("| \(name) |" + cells.joined())
        }
        lines.append("")
        let curves: [(String, [String: FullRankingResult])] =
            methods.compactMap { method in method.fullRankingFewShot.map { (method.name, $0) } }
            + (rankingBaselines ?? []).compactMap { row in row.fewShot.map { (row.name, $0) } }
        lines.append(
            contentsOf: FullRankingFewShot.markdown(
                curves.map { name, points in
                    (name, points.mapValues { [$0.recallAt20, $0.ndcgAt10].map { String(format: "%.4f", $0) } })
                }))
        return lines
    }

    public func markdown() -> String {
        var lines: [String] = []
        let feedback = implicitFeedback ? "implicit" : "explicit"
        lines.append("## \(dataset) (protocol coldstart-v1, seed \(seed), \(feedback) feedback)")
        lines.append("")
        let counts = scenarios.map { "\($0) \(taskCounts[$0] ?? 0)" }.joined(separator: ", ")
        lines.append("Tasks: \(counts.isEmpty ? "none" : counts). Wall time \(String(format: "%.1f", wallSeconds)) s.")
        lines.append("")
        if let newItemRule { lines.append("New items: \(newItemRule).") }
        if let negativeSampling { lines.append("Negatives: \(negativeSampling).") }
        if implicitFeedback, let candidateSet {
            lines.append("Ranking candidates: \(candidateSet); GAUC is the mean per-user AUC.")
        }
        for note in notes ?? [] { lines.append("Note: \(note)") }
        if newItemRule != nil || negativeSampling != nil || !(notes ?? []).isEmpty { lines.append("") }
        if scenarios.isEmpty {
            lines.append(
                "No test tasks: no new user or new item has the 13 ratings a task needs (Docs/protocol.md, Splits). Use a larger data set."
            )
        }
        for (scenario, reason) in (missingScenarios ?? [:]).sorted(by: { $0.key < $1.key }) {
            lines.append("\(scenario): n/a (\(reason))")
        }
        if scenarios.isEmpty { return lines.joined(separator: "\n") }
        if !(missingScenarios ?? [:]).isEmpty { lines.append("") }
        let k = RankingResult.cutoff
        var header = "| method |"
        var rule = "|---|"
        for scenario in scenarios {
            if implicitFeedback {
                header += " \(scenario) GAUC | \(scenario) recall@\(k) | \(scenario) nDCG@\(k) | \(scenario) HR@\(k) |"
                rule += "---:|---:|---:|---:|"
            } else {
                header += " \(scenario) MAE | \(scenario) RMSE | \(scenario) nDCG@3 |"
                rule += "---:|---:|---:|"
            }
        }
        lines.append(header)
        lines.append(rule)
        func format(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "n/a" }
            return String(format: "%.4f", value)
        }
        for method in methods {
            var row = "| \(method.name) |"
            for scenario in scenarios {
                let result = method.scenarios[scenario]
                if implicitFeedback {
                    let ranking = result?.ranking
                    row +=
                        " \(format(result?.auc)) | \(format(ranking?.recall)) | \(format(ranking?.ndcg)) | \(format(ranking?.hitRate)) |"
                } else {
                    row +=
                        " \(format(result?.meanAbsoluteError)) | \(format(result?.rootMeanSquaredError)) | \(format(result?.ndcgAt3)) |"
                }
            }
            lines.append(row)
        }
        var floor = "| random order |"
        for scenario in scenarios {
            floor += implicitFeedback ? " 0.5000 | | | |" : " | | \(format(randomOrderNDCG[scenario])) |"
        }
        lines.append(floor)
        lines.append("")
        if !implicitFeedback, scenarios.contains("item-cold") {
            let biases = methods.map { "\($0.name) \(signed($0.scenarios["item-cold"]?.bias))" }
            lines.append(
                "New-item calibration (item-cold mean predicted − mean true rating): " + biases.joined(separator: "; ")
                    + ".")
            lines.append("")
        }

        if methods.contains(where: { $0.scenarios.values.contains { $0.mrrAt5 != nil } }) {
            lines.append(
                "Ranking of the 10 query items (RecBole's meta-learning board metrics; relevant for MRR: a click or a rating ≥ 4):"
            )
            lines.append("")
            lines.append("| method |" + scenarios.map { " \($0) nDCG@5 | \($0) MRR@5 |" }.joined())
            lines.append("|---|" + scenarios.map { _ in "---:|---:|" }.joined())
            for method in methods {
                lines.append(
                    "| \(method.name) |"
                        + scenarios.map { scenario in
                            " \(format(method.scenarios[scenario]?.ndcgAt5)) | \(format(method.scenarios[scenario]?.mrrAt5)) |"
                        }.joined())
            }
            lines.append("")
        }

        lines.append(contentsOf: fullRankingMarkdown())

        let sizes = methods.first?.fewShot.map(\.k) ?? []
        if !sizes.isEmpty {
            let metric = implicitFeedback ? "AUC" : "MAE"
            lines.append(
                "Few-shot curve (user-cold \(metric) with the K earliest support ratings; K = 0 is no adaptation):")
            lines.append("")
            lines.append("| method | " + sizes.map { $0 < 0 ? "K = all" : "K = \($0)" }.joined(separator: " | ") + " |")
            lines.append("|---|" + sizes.map { _ in "---:|" }.joined())
            for method in methods {
                let values = method.fewShot.map { format(implicitFeedback ? $0.auc : $0.meanAbsoluteError) }
                lines.append("| \(method.name) | " + values.joined(separator: " | ") + " |")
            }
            lines.append("")
        }
        if !checksums.isEmpty {
            lines.append(
                "Data files (SHA-256): "
                    + checksums.keys.sorted().map { "\($0) \(checksums[$0]!.prefix(16))…" }.joined(separator: ", "))
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}

/// The full-ranking few-shot table: user-cold recall@20 and nDCG@10 with only the K earliest
/// support ratings, one column per K.
enum FullRankingFewShot {
    /// - Parameter rows: each row's name and, by K, its formatted recall@20 and nDCG@10.
    static func markdown(_ rows: [(String, [String: [String]])]) -> [String] {
        let sizes = Set(rows.flatMap { $0.1.keys }).compactMap(Int.init).sorted()
        guard !sizes.isEmpty else { return [] }
        var lines = [
            "Full ranking, few-shot (user-cold with only the K earliest support ratings; recall@20 / nDCG@10):",
            "",
            "| method |" + sizes.map { " K = \($0) |" }.joined(),
            "|---|" + String(repeating: "---:|", count: sizes.count),
        ]
        for (name, points) in rows {
            let cells = sizes.map { k in points[String(k)].map { " \($0.joined(separator: " / ")) |" } ?? " n/a |" }
            lines.append("| \(name) |" + cells.joined())
        }
        lines.append("")
        return lines
    }
}
