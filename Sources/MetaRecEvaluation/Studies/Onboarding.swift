import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// The offline onboarding evaluation of question choosers on user-cold tasks (issue 14): the
/// pool is the user's own support items, the only ones whose answers are known; a chooser asks
/// one item at a time, each answer is revealed (and updates the model's posterior) before the
/// next choice, and after K answers the query set is scored. A user whose support is smaller
/// than K answers everything, whatever the chooser.
public struct OnboardingReport: Sendable, Codable {
    public struct Point: Sendable, Codable, Equatable {
        public var k: Int
        /// Query MAE after K answers, averaged over tasks.
        public var meanAbsoluteError: Double
        /// Tasks whose support held at least K items (the others answered all they had).
        public var tasksWithFullPool: Int
    }

    public struct Curve: Sendable, Codable {
        public var chooser: String
        public var points: [Point]
    }

    /// Coverage of the predictive intervals on query ratings after the K earliest support ratings.
    public struct Calibration: Sendable, Codable, Equatable {
        public var k: Int
        /// Share of true ratings within ±1 and ±2 predictive standard deviations.
        public var withinOne: Double
        public var withinTwo: Double
        public var ratings: Int
    }

    public var scorer: String
    public var tasks: Int
    public var curves: [Curve]
    public var calibration: [Calibration]

    /// The curves as a Markdown table, choosers as rows and K as columns, then the calibration.
    public func markdown() -> String {
        let sizes = curves.first?.points.map(\.k) ?? []
        var lines = [
            "Onboarding on \(tasks) user-cold tasks, scored by \(scorer): query MAE after K asked ratings", "",
        ]
        lines.append("| chooser | " + sizes.map { "K = \($0)" }.joined(separator: " | ") + " |")
        lines.append("|---|" + sizes.map { _ in "---:" }.joined(separator: "|") + "|")
        for curve in curves {
            lines.append(
                "| \(curve.chooser) | "
                    + curve.points.map { String(format: "%.4f", $0.meanAbsoluteError) }.joined(separator: " | ") + " |")
        }
        if let first = curves.first {
            lines.append(
                "| (tasks with ≥ K support items) | "
                    + first.points.map { "\($0.tasksWithFullPool)" }.joined(separator: " | ") + " |")
        }
        if !calibration.isEmpty {
            lines += [
                "", "Calibration of \(scorer) on user-cold query ratings after the K earliest support ratings", "",
                "| K | within ±1 sd (≈ 68%) | within ±2 sd (≈ 95%) | ratings |", "|---:|---:|---:|---:|",
            ]
            for row in calibration {
                lines.append(
                    "| \(row.k < 0 ? "all" : String(row.k)) | \(String(format: "%.1f%%", 100 * row.withinOne)) | \(String(format: "%.1f%%", 100 * row.withinTwo)) | \(row.ratings) |"
                )
            }
        }
        return lines.joined(separator: "\n")
    }
}

public enum OnboardingEvaluation {
    /// Each chooser's curve: query MAE of `scorer` after K = `sizes` answers asked one at a time.
    public static func curves(
        choosers: [QuestionChooser], scorer: ColdStartPredictor, tasks: [ProtocolTask], features: FeatureContext,
        sizes: [Int] = [1, 3, 5, 10], threads: Int = 2
    ) -> [OnboardingReport.Curve] {
        let largest = sizes.max() ?? 0
        return choosers.map { chooser in
            let perTask = Parallel.map(tasks, workers: threads) { task -> [Double] in
                let answersByItem = Dictionary(
                    task.support.map { ($0.item, $0) }, uniquingKeysWith: { first, _ in first })
                let pool = task.support.map(\.item)
                var user = NewUserAnswers(
                    features: EntityBatch(features.users, entities: [task.user]), key: Int64(task.user))
                var errors: [Double] = []
                for k in 0...largest {
                    if k > 0, let item = chooser.choose(count: 1, for: user, pool: pool).first,
                        let answer = answersByItem[item]
                    {
                        user.answers.append(answer)
                    }
                    guard sizes.contains(k) else { continue }
                    let prepared = PreparedTask(
                        user: task.user, support: user.answers, query: task.query, features: features)
                    errors.append(Metrics.meanAbsoluteError(scorer.predict(prepared), prepared.queryTargets.values))
                }
                return errors
            }
            let points = sizes.sorted().enumerated().map { column, k in
                let values = perTask.map { $0[column] }.filter(\.isFinite)
                return OnboardingReport.Point(
                    k: k, meanAbsoluteError: values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count),
                    tasksWithFullPool: tasks.filter { $0.support.count >= k }.count)
            }
            return OnboardingReport.Curve(chooser: chooser.name, points: points)
        }
    }

    /// The share of query ratings within ±1 and ±2 predictive standard deviations of the head's
    /// posterior predictive, after the K earliest support ratings (K = -1: all of them).
    public static func calibration(
        head: CovarianceHead, tasks: [ProtocolTask], features: FeatureContext, sizes: [Int] = [0, 1, 3, 5, 10, -1],
        threads: Int = 2
    ) -> [OnboardingReport.Calibration] {
        sizes.map { k in
            let counts = Parallel.map(tasks, workers: threads) { task -> (Int, Int, Int) in
                let prepared = PreparedTask(k < 0 ? task : task.truncatedSupport(toEarliest: k), features: features)
                let (means, variances) = head.predictWithUncertainty(prepared)
                var one = 0
                var two = 0
                for (index, target) in prepared.queryTargets.values.enumerated() {
                    let distance = abs(target - means[index]) / variances[index].squareRoot()
                    if distance <= 1 { one += 1 }
                    if distance <= 2 { two += 1 }
                }
                return (one, two, prepared.queryCount)
            }
            let total = counts.reduce(0) { $0 + $1.2 }
            return OnboardingReport.Calibration(
                k: k, withinOne: Double(counts.reduce(0) { $0 + $1.0 }) / Double(max(total, 1)),
                withinTwo: Double(counts.reduce(0) { $0 + $1.1 }) / Double(max(total, 1)), ratings: total)
        }
    }
}

extension Experiment {
    /// The issue's question choosers for a trained covariance head: variance reduction ×
    /// popularity (and without popularity), popular first, popularity × entropy, MeLU's
    /// evidence, random and earliest rated.
    public func questionChoosers(head: CovarianceHead) -> [QuestionChooser] {
        let popularity = ItemPopularity(training: split.warmInteractions)
        return [
            VarianceReductionChooser(head: head, features: features, popularity: popularity),
            VarianceReductionChooser(head: head, features: features, popularity: nil),
            PopularFirstChooser(popularity: popularity),
            PopularityEntropyChooser(popularity: popularity),
            EvidenceChooser(
                popularity: popularity,
                gradientSizes: head.itemGradientSizes(training: split.warmInteractions, features: features)),
            RandomChooser(seed: seed),
            EarliestRatedChooser(),
        ]
    }

    /// The onboarding evaluation on this split's user-cold test tasks, scored by `head`.
    public func onboardingReport(head: CovarianceHead, sizes: [Int] = [1, 3, 5, 10]) -> OnboardingReport {
        let tasks = split.tasks(.userCold)
        return OnboardingReport(
            scorer: head.name, tasks: tasks.count,
            curves: OnboardingEvaluation.curves(
                choosers: questionChoosers(head: head), scorer: head, tasks: tasks,
                features: features, sizes: sizes, threads: threads),
            calibration: OnboardingEvaluation.calibration(
                head: head, tasks: tasks, features: features, threads: threads))
    }
}
