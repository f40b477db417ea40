import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Settings of the streaming (prequential) evaluation of the meta parameter partition.
public struct StreamingOptions: Sendable, Codable {
    /// A streaming user's first ratings (on existing items), used to adapt.
    public var supportSize = 10
    /// Their next ratings, predicted before the user is learned from.
    public var querySize = 10
    /// Earlier (offline, warm) users whose metric is measured before and after the stream.
    public var earlierUsers = 100
    public var partitions: [ParameterPartition] = [.all, .decisionLayers, .lastLayer, .modulation]
    public var online = OnlineMetaLearner.Options()
    /// Online learning rates to choose among, per online condition, by the stream GAUC (MAE
    /// for explicit ratings) of the validation users streamed in time order, each run from the
    /// offline start; the test stream never takes part. Nil or one value: `online.learningRate`.
    public var learningRateCandidates: [Float]?
    /// Replay conditions to run side by side, one per replayed share of the meta-update
    /// (`OnlineMetaLearner.Options.replayWeight`); nil or empty runs one, with `online.replayWeight`.
    public var replayWeights: [Float]?
    /// Whether the replay reservoir starts with warm (offline) users. Off, it starts empty and
    /// fills from the stream, as the live learner's does (a published bundle holds no training
    /// users): the setting to compare `metarec learn` with.
    public var replayStartsWithWarmUsers = true
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case supportSize, querySize, earlierUsers, partitions, online, learningRateCandidates, replayWeights
        case replayStartsWithWarmUsers
    }

    /// Reads reports written before the later settings existed with those settings' defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        supportSize = try container.decode(Int.self, forKey: .supportSize)
        querySize = try container.decode(Int.self, forKey: .querySize)
        earlierUsers = try container.decode(Int.self, forKey: .earlierUsers)
        partitions = try container.decode([ParameterPartition].self, forKey: .partitions)
        online = try container.decode(OnlineMetaLearner.Options.self, forKey: .online)
        learningRateCandidates = try container.decodeIfPresent([Float].self, forKey: .learningRateCandidates)
        replayWeights = try container.decodeIfPresent([Float].self, forKey: .replayWeights)
        replayStartsWithWarmUsers =
            try container.decodeIfPresent(Bool.self, forKey: .replayStartsWithWarmUsers) ?? true
    }
}

/// One candidate online learning rate and its score on the validation stream.
public struct LearningRateTrial: Sendable, Codable, Equatable {
    public var learningRate: Float
    public var auc: Double?
    public var meanAbsoluteError: Double
}

/// One partition under one condition of the stream.
public struct StreamingRow: Sendable, Codable {
    public var partition: String
    public var condition: String
    public var users: Int
    public var meanAbsoluteError: Double
    /// Mean per-user AUC (positive: rating ≥ 4, or a click), users with both classes only.
    public var auc: Double?
    public var earlierBefore: ScenarioResult
    public var earlierAfter: ScenarioResult
    public var bytesPerUser: Int
    public var adaptationMilliseconds: Double
    public var updateMilliseconds: Double
    /// The stream's metrics so far at up to `StreamPoint.count` evenly spaced points of the
    /// stream, for plotting GAUC over the stream (absent in reports written before it existed).
    public var curve: [StreamPoint]?
    /// The online learning rate used (nil offline only, and in older reports).
    public var learningRate: Float?
    /// The candidates tried on the validation stream, when there were several.
    public var learningRateTrials: [LearningRateTrial]?
    /// Earlier tasks replayed into the online meta-updates over the whole stream.
    public var replayedTasks: Int?
    /// Online updates left out because their gradient was not finite (absent in older reports).
    public var skippedUpdates: Int?
}

/// The stream's cumulative metrics after its first `users` users.
public struct StreamPoint: Sendable, Codable, Equatable {
    /// Points recorded per stream (fewer when the stream is shorter).
    public static let count = 20
    public var users: Int
    /// `users` as a fraction of the stream, in (0, 1]: lets streams of different lengths (seeds) be merged.
    public var fraction: Double
    /// Mean per-user AUC (GAUC) of the users so far that have both classes.
    public var gauc: Double?
    public var meanAbsoluteError: Double

    public init(users: Int, fraction: Double, gauc: Double?, meanAbsoluteError: Double) {
        self.users = users
        self.fraction = fraction
        self.gauc = gauc
        self.meanAbsoluteError = meanAbsoluteError
    }

    /// Cumulative means of per-user `errors` and `aucs` (nil where a user has one class only)
    /// at evenly spaced points; the last point covers the whole stream.
    public static func cumulative(errors: [Double], aucs: [Double?]) -> [StreamPoint] {
        let total = errors.count
        guard total > 0 else { return [] }
        let marks = min(count, total)
        var points: [StreamPoint] = []
        var errorSum = 0.0
        var aucSum = 0.0
        var aucCount = 0
        var next = 1
        for index in 0..<total {
            errorSum += errors[index]
            if let auc = aucs[index] {
                aucSum += auc
                aucCount += 1
            }
            let seen = index + 1
            if seen == (next * total + marks - 1) / marks {
                points.append(
                    StreamPoint(
                        users: seen, fraction: Double(seen) / Double(total),
                        gauc: aucCount == 0 ? nil : aucSum / Double(aucCount),
                        meanAbsoluteError: errorSum / Double(seen)))
                next += 1
            }
        }
        return points
    }
}

public struct StreamingReport: Sendable, Codable {
    /// The condition without online updates, the one the others are compared with.
    public static let offlineCondition = "offline only"
    /// The ablation of the (first) replay condition: its online rate, replay off. "online, no
    /// replay" has its own rate chosen on validation, and a smaller rate forgets less whatever
    /// replay does, so only this row tells what replay itself does to forgetting.
    public static let replayAblationCondition = "online, no replay, replay's rate"
    public var dataset: String
    public var seed: UInt64
    public var options: StreamingOptions
    public var rows: [StreamingRow]

    public func markdown() -> String {
        func f(_ value: Double?, _ digits: Int = 4) -> String {
            guard let value, value.isFinite else { return "n/a" }
            return String(format: "%.\(digits)f", value)
        }
        var lines = [
            "## Streaming new users: \(dataset), seed \(seed) (adapt on the first \(options.supportSize) ratings, predict the next \(options.querySize), then learn)",
            "",
            "| partition | condition | stream AUC | stream MAE | earlier users AUC before → after | earlier MAE before → after | bytes per user | online rate | adapt ms (median) | meta-update ms (median) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows {
            lines.append(
                "| \(row.partition) | \(row.condition) | \(f(row.auc)) | \(f(row.meanAbsoluteError)) | "
                    + "\(f(row.earlierBefore.auc)) → \(f(row.earlierAfter.auc)) | "
                    + "\(f(row.earlierBefore.meanAbsoluteError)) → \(f(row.earlierAfter.meanAbsoluteError)) | "
                    + "\(row.bytesPerUser) | \(row.learningRate.map { "\($0)" } ?? "–") | "
                    + "\(f(row.adaptationMilliseconds, 2)) | \(f(row.updateMilliseconds, 2)) |")
        }
        lines.append("")
        lines.append(
            "Users stream in the order of their first interaction; each is predicted before it is learned from.")
        for row in rows where (row.skippedUpdates ?? 0) > 0 {
            lines.append(
                "\(row.partition), \(row.condition): \(row.skippedUpdates!) of \(row.users) online updates skipped (gradient not finite)."
            )
        }
        return lines.joined(separator: "\n")
    }
}

extension Experiment {
    /// The protocol's new users in the order of their first interaction, each as a task whose
    /// support is their first `supportSize` ratings of existing items and whose query is the next
    /// `querySize` (users with fewer are left out). `users` defaults to the new users; the
    /// validation users give the stream the online learning rate is chosen on.
    public func streamingTasks(supportSize: Int, querySize: Int, users: [Int32]? = nil) -> [PreparedTask] {
        let newUsers = Set(users ?? split.newUsers)
        var byUser: [Int32: [Interaction]] = [:]
        var firstSeen: [Int32: Int64] = [:]
        for rating in dataset.interactions where newUsers.contains(rating.user) {
            firstSeen[rating.user] = min(firstSeen[rating.user] ?? .max, rating.timestamp)
            if !split.isNewItem[Int(rating.item)] { byUser[rating.user, default: []].append(rating) }
        }
        let order = byUser.keys.filter { byUser[$0]!.count >= supportSize + querySize }
            .sorted { (firstSeen[$0]!, $0) < (firstSeen[$1]!, $1) }
        return order.map { user in
            let ratings = byUser[user]!.sorted { ($0.timestamp, $0.item) < ($1.timestamp, $1.item) }
            return PreparedTask(
                user: user, support: Array(ratings.prefix(supportSize)),
                query: Array(ratings[supportSize..<(supportSize + querySize)]), features: features)
        }
    }

    /// Offline meta-training per partition, then the stream of new users under these conditions:
    /// offline only; online with replay (the guard against forgetting), one per replay weight;
    /// online without replay; and, when the online rate is chosen on validation, the replay
    /// condition's ablation (its rate, no replay).
    public func streamingEvaluation(
        options: StreamingOptions, metaTraining: MetaTrainingOptions, model configuration: MeLUModel.Configuration,
        monitor: TrainingMonitor = .silent, log: ((String) -> Void)? = nil
    ) throws -> StreamingReport {
        var configuration = configuration
        configuration.modulation = true  // one architecture for every partition; only what adapts differs
        let stream = streamingTasks(supportSize: options.supportSize, querySize: options.querySize)
        // Forgetting is measured on earlier (warm) users that replay never draws from, so a
        // replayed task cannot flatter the metric; replay draws from the other warm users.
        let warm = split.tasks(.warm).map { PreparedTask($0, features: features) }
        let earlier = Array(warm.prefix(options.earlierUsers))
        let replayPool = options.replayStartsWithWarmUsers ? Array(warm.dropFirst(options.earlierUsers)) : []
        let positiveAt: Float = objective == .click ? 0.5 : 4
        let validationStream = streamingTasks(
            supportSize: options.supportSize, querySize: options.querySize, users: split.validationUsers)
        var rows: [StreamingRow] = []
        for partition in options.partitions {
            var training = metaTraining
            training.adaptation.partition = partition
            log?("offline meta-training, partition \(partition)")
            let offline = try trainMetaLearner(
                options: training, model: configuration, phase: "offline meta-training, partition \(partition)",
                monitor: monitor)
            let weights: [Float?] =
                (options.replayWeights ?? []).isEmpty ? [options.online.replayWeight] : options.replayWeights!
            let choosesRates = (options.learningRateCandidates?.count ?? 0) > 1
            var conditions: [StreamingCondition] =
                [StreamingCondition(name: StreamingReport.offlineCondition, updates: false)]
                + weights.map {
                    StreamingCondition(
                        name: weights.count == 1
                            ? "online + replay" : "online + replay (weight \($0.map { "\($0)" } ?? "per task"))",
                        replayTasks: options.online.replayTasks, replayWeight: $0)
                }
            conditions.append(StreamingCondition(name: "online, no replay"))
            if choosesRates {
                conditions.append(
                    StreamingCondition(name: StreamingReport.replayAblationCondition, ratesOfFirstReplay: true))
            }
            var replayRate: Float?
            for condition in conditions {
                let (name, updates) = (condition.name, condition.updates)
                var onlineOptions = options.online
                onlineOptions.updates = updates
                onlineOptions.replayTasks = condition.replayTasks
                onlineOptions.replayWeight = condition.replayWeight
                onlineOptions.seed = initialisationSeed
                if condition.ratesOfFirstReplay, let replayRate { onlineOptions.learningRate = replayRate }
                var trials: [LearningRateTrial]?
                if updates, !condition.ratesOfFirstReplay, let candidates = options.learningRateCandidates,
                    candidates.count > 1
                {
                    trials = candidates.map { rate in
                        var trial = onlineOptions
                        trial.learningRate = rate
                        let run = runStream(
                            validationStream, offline: offline, options: trial, replayPool: replayPool,
                            positiveAt: positiveAt)
                        return LearningRateTrial(
                            learningRate: rate, auc: run.auc, meanAbsoluteError: run.meanAbsoluteError)
                    }
                    let best = trials!.max { a, b in
                        let (x, y) = (a.auc ?? -a.meanAbsoluteError, b.auc ?? -b.meanAbsoluteError)
                        return x != y ? x < y : a.learningRate > b.learningRate
                    }!
                    onlineOptions.learningRate = best.learningRate
                    log?(
                        "  \(name): online rate \(best.learningRate) chosen on \(validationStream.count) validation users ("
                            + trials!.map {
                                "\($0.learningRate): \($0.auc.map { String(format: "%.4f", $0) } ?? "n/a")"
                            }
                            .joined(separator: ", ") + ")")
                }
                if condition.replayTasks > 0 && replayRate == nil { replayRate = onlineOptions.learningRate }
                let before = Evaluator.score(offline, earlier, threads: threads, positiveAt: positiveAt)
                let run = runStream(
                    stream, offline: offline, options: onlineOptions, replayPool: replayPool, positiveAt: positiveAt)
                let after = Evaluator.score(run.learner, earlier, threads: threads, positiveAt: positiveAt)
                func median(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.sorted()[values.count / 2] }
                rows.append(
                    StreamingRow(
                        partition: partition.description, condition: name, users: stream.count,
                        meanAbsoluteError: run.meanAbsoluteError, auc: run.auc,
                        earlierBefore: before, earlierAfter: after, bytesPerUser: run.bytesPerUser,
                        adaptationMilliseconds: median(run.adaptationMilliseconds),
                        updateMilliseconds: updates ? median(run.updateMilliseconds) : 0,
                        curve: StreamPoint.cumulative(errors: run.errors, aucs: run.userAUCs),
                        learningRate: updates ? onlineOptions.learningRate : nil, learningRateTrials: trials,
                        replayedTasks: run.replayedTasks, skippedUpdates: run.skippedUpdates))
                log?(
                    "  \(name): stream AUC \(rows.last!.auc.map { String(format: "%.4f", $0) } ?? "n/a"), MAE \(String(format: "%.4f", rows.last!.meanAbsoluteError))"
                )
            }
        }
        return StreamingReport(dataset: dataset.name, seed: seed, options: options, rows: rows)
    }

    /// One pass of `stream` through an online learner started from a copy of `offline`: each
    /// user predicted before being learned from.
    func runStream(
        _ stream: [PreparedTask], offline: MetaLearner, options: OnlineMetaLearner.Options, replayPool: [PreparedTask],
        positiveAt: Float
    ) -> StreamRun {
        let learner = MetaLearner(
            model: offline.model, options: offline.options, parameters: offline.parameters.copied(),
            innerRates: offline.innerRates.mapValues { $0.asParameter() })
        let online = OnlineMetaLearner(offline: learner, options: options)
        online.seedReplay(with: replayPool)
        var run = StreamRun(learner: learner, bytesPerUser: online.bytesPerUser)
        for task in stream {
            let step = online.process(task)
            let targets = task.queryTargets.values
            run.errors.append(Metrics.meanAbsoluteError(step.predictions, targets))
            run.userAUCs.append(Metrics.areaUnderCurve(step.predictions, targets.map { $0 >= positiveAt ? 1 : 0 }))
            run.adaptationMilliseconds.append(step.adaptationSeconds * 1e3)
            run.updateMilliseconds.append(step.updateSeconds * 1e3)
        }
        run.replayedTasks = online.replayedTasks
        run.skippedUpdates = online.skippedUpdates
        return run
    }
}

/// One condition of the stream: whether and how the start learns online.
struct StreamingCondition {
    var name: String
    var updates = true
    var replayTasks = 0
    var replayWeight: Float?
    /// Take the online rate the first replay condition chose instead of choosing one.
    var ratesOfFirstReplay = false
}

/// What one pass of a stream gave.
struct StreamRun {
    var learner: MetaLearner
    var bytesPerUser: Int
    var errors: [Double] = []
    var userAUCs: [Double?] = []
    var adaptationMilliseconds: [Double] = []
    var updateMilliseconds: [Double] = []
    var replayedTasks = 0
    var skippedUpdates = 0

    var meanAbsoluteError: Double { errors.reduce(0, +) / Double(max(errors.count, 1)) }
    /// GAUC: the mean per-user AUC over users with both classes.
    var auc: Double? {
        let aucs = userAUCs.compactMap { $0 }
        return aucs.isEmpty ? nil : aucs.reduce(0, +) / Double(aucs.count)
    }
}

// A diverged stream's mean error is not a number, which the report writes as `null`
// (`JSONFormat`); these read it back as NaN instead of refusing the whole file.

extension LearningRateTrial {
    enum CodingKeys: String, CodingKey { case learningRate, auc, meanAbsoluteError }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        learningRate = try container.decode(Float.self, forKey: .learningRate)
        auc = try container.decodeIfPresent(Double.self, forKey: .auc)
        meanAbsoluteError = try container.decodeIfPresent(Double.self, forKey: .meanAbsoluteError) ?? .nan
    }
}

extension StreamPoint {
    enum CodingKeys: String, CodingKey { case users, fraction, gauc, meanAbsoluteError }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        users = try container.decode(Int.self, forKey: .users)
        fraction = try container.decode(Double.self, forKey: .fraction)
        gauc = try container.decodeIfPresent(Double.self, forKey: .gauc)
        meanAbsoluteError = try container.decodeIfPresent(Double.self, forKey: .meanAbsoluteError) ?? .nan
    }
}

extension StreamingRow {
    enum CodingKeys: String, CodingKey {
        case partition, condition, users, meanAbsoluteError, auc, earlierBefore, earlierAfter, bytesPerUser
        case adaptationMilliseconds, updateMilliseconds, curve, learningRate, learningRateTrials, replayedTasks
        case skippedUpdates
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func metric(_ key: CodingKeys) throws -> Double {
            try container.decodeIfPresent(Double.self, forKey: key) ?? .nan
        }
        partition = try container.decode(String.self, forKey: .partition)
        condition = try container.decode(String.self, forKey: .condition)
        users = try container.decode(Int.self, forKey: .users)
        meanAbsoluteError = try metric(.meanAbsoluteError)
        auc = try container.decodeIfPresent(Double.self, forKey: .auc)
        earlierBefore = try container.decode(ScenarioResult.self, forKey: .earlierBefore)
        earlierAfter = try container.decode(ScenarioResult.self, forKey: .earlierAfter)
        bytesPerUser = try container.decode(Int.self, forKey: .bytesPerUser)
        adaptationMilliseconds = try metric(.adaptationMilliseconds)
        updateMilliseconds = try metric(.updateMilliseconds)
        curve = try container.decodeIfPresent([StreamPoint].self, forKey: .curve)
        learningRate = try container.decodeIfPresent(Float.self, forKey: .learningRate)
        learningRateTrials = try container.decodeIfPresent([LearningRateTrial].self, forKey: .learningRateTrials)
        replayedTasks = try container.decodeIfPresent(Int.self, forKey: .replayedTasks)
        skippedUpdates = try container.decodeIfPresent(Int.self, forKey: .skippedUpdates)
    }
}
