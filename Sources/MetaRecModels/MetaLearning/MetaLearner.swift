import Foundation
import MetaRecCore
import MetaRecData

/// Exact second-order MAML differentiates through the inner steps; first-order MAML treats the
/// adapted weights as constants of the initial ones (Finn et al., ICML 2017, section 5.2).
public enum MetaGradientOrder: String, Sendable, Codable {
    case second, first
}

/// Settings of meta-training.
public struct MetaTrainingOptions: Sendable, Codable, Equatable {
    public var adaptation = AdaptationRule()
    public var order: MetaGradientOrder = .second
    /// Learn a per-parameter inner learning rate (Meta-SGD, Li et al., arXiv 1707.09835).
    public var learnsInnerRates = false
    /// Tasks per meta-update (MeLU: 32).
    public var metaBatchSize = 32
    /// Adam's learning rate for the meta-parameters.
    public var outerLearningRate: Float = 1e-3
    public var maxEpochs = 30
    /// Epochs without a better validation score before stopping.
    public var patience = 4
    /// Query rows per sampled training task, and the bounds on a training task's size.
    public var querySize = 10
    public var minimumTaskSize = 13
    public var maximumTaskSize = 100
    public var seed: UInt64 = 0
    /// Threads the tasks of a meta-batch run on.
    public var threads = 2
    /// Whether meta-training starts from a pretrained network's weights rather than at random.
    public var startsFromPretrained = false
    /// Share of training tasks whose support is cut to its earliest `smallSupportSizes` ratings
    /// (one size drawn per task), so that the meta-learned start is also trained for a new
    /// user's first ratings (issue 14). nil or 0 (archives written before it existed): none.
    public var smallSupportShare: Float? = 0.25
    public var smallSupportSizes: [Int]? = [1, 3, 5]
    /// A ranking term in the query loss (BPR or sampled softmax, Ranking/RankingObjective.swift);
    /// nil (archives written before it existed): pointwise.
    public var ranking: RankingLoss?

    public init() {}
}

/// Meta-learns an initialisation (and optionally inner learning rates) from warm users so that
/// a few gradient steps on a new user's support set personalise the model: MAML (Finn et al.,
/// ICML 2017) as MeLU uses it (Lee et al., KDD 2019), with an exact second-order meta-gradient,
/// its first-order approximation, and Meta-SGD.
///
/// ```swift
/// let learner = MetaLearner(model: model, options: options)
/// try learner.fit(training: split.warmRatingsByUser(), validation: validationTasks, features: features)
/// let predictions = learner.predict(preparedTask)
/// ```
public final class MetaLearner: @unchecked Sendable {
    public let model: MeLUModel
    public var options: MetaTrainingOptions
    /// The meta-learned initialisation (shared and adaptive parts).
    public private(set) var parameters: ParameterSet
    /// Learned inner learning rates by adaptive parameter name (Meta-SGD), else empty.
    public private(set) var innerRates: [String: Tensor]
    /// How many of a known user's latest history ratings join the support (nil or 0: none), so an
    /// existing user meeting new items starts from their state adapted on what they rated
    /// before; chosen on item-cold validation (``Experiment``).
    public var knownHistoryLatest: Int?
    public var knownHistorySelection: KnownHistorySelection?
    /// Whether meta-batches run as batched products where the partition allows
    /// (``runsBatched``); off only to compare with the task-by-task path.
    var batchesTasks = true

    public init(
        model: MeLUModel, options: MetaTrainingOptions, parameters: ParameterSet? = nil,
        innerRates: [String: Tensor] = [:]
    ) {
        self.model = model
        self.options = options
        var random = SeededGenerator(seed: options.seed).derived("initialisation")
        let initial = parameters ?? model.initialParameters(using: &random)
        self.parameters = initial
        if options.learnsInnerRates && innerRates.isEmpty {
            var rates: [String: Tensor] = [:]
            for name in options.adaptation.partition.adaptive(initial.names) {
                rates[name] = Tensor.filled(initial.tensor(name).shape, with: options.adaptation.learningRate)
                    .asParameter()
            }
            self.innerRates = rates
        } else {
            self.innerRates = innerRates
        }
    }

    /// Every tensor the outer optimiser updates.
    var metaParameters: [Tensor] {
        parameters.tensors + innerRates.keys.sorted().map { innerRates[$0]! }
    }

    /// The query loss after adaptation, for one task, as a differentiable scalar.
    func queryLoss(_ task: PreparedTask) -> Tensor {
        let fast = model.adapt(
            parameters, to: task, rule: options.adaptation, rates: innerRates,
            createGraph: options.order == .second)
        let predictions = model.predict(user: task.userBatch, items: task.queryItems, parameters: fast)
        if let ranking = options.ranking { return ranking.loss(predictions, task.queryTargets, pointwise: model.loss) }
        return model.loss(predictions, task.queryTargets)
    }

    /// The mean meta-gradient and mean query loss over a meta-batch, with the tasks spread over
    /// `options.threads` threads; with respect to every meta-parameter, or to `targets` only
    /// (the online stage updates the adaptive initialisation alone).
    public func metaGradient(_ tasks: [PreparedTask], withRespectTo selected: [Tensor]? = nil) -> (
        gradients: [[Float]], loss: Float
    ) {
        let targets = selected ?? metaParameters
        let threads = max(1, min(options.threads, tasks.count))
        let batched = runsBatched
        let groups =
            batched
            ? Self.batchedGroups(supportSizes: tasks.map(\.supportCount), threads: threads)
            : (0..<threads).map { thread in stride(from: thread, to: tasks.count, by: threads).map { [$0] } }
        let partials = Parallel.map(groups, workers: threads) { groups -> ([[Float]], Float) in
            var sums = targets.map { [Float](repeating: 0, count: $0.count) }
            var lossSum: Float = 0
            for group in groups {
                let loss = batched ? batchedQueryLossSum(group.map { tasks[$0] }) : queryLoss(tasks[group[0]])
                lossSum += loss.scalar
                let groupGradients = gradients(of: loss, withRespectTo: targets)
                for (slot, gradient) in groupGradients.enumerated() {
                    accumulate(gradient, into: &sums[slot])
                }
            }
            return (sums, lossSum)
        }
        var total = partials[0].0
        var lossTotal = partials[0].1
        let scale = 1 / Float(tasks.count)
        // Through buffers: indexing nested arrays checks uniqueness per element, which showed in
        // the profile for the embedding tables.
        for slot in total.indices {
            total[slot].withUnsafeMutableBufferPointer { sum in
                for thread in 1..<threads {
                    partials[thread].0[slot].withUnsafeBufferPointer { part in
                        for j in 0..<sum.count { sum[j] += part[j] }
                    }
                }
                for j in 0..<sum.count { sum[j] *= scale }
            }
        }
        for thread in 1..<threads { lossTotal += partials[thread].1 }
        return (total, lossTotal * scale)
    }

    /// Trains on warm users' ratings, selecting the epoch by the validation tasks only.
    /// - Throws: `TrainingError` when the meta-loss or the validation score stops being finite.
    @discardableResult
    public func fit(
        training ratingsByUser: [Int32: [Interaction]], validation: [PreparedTask], features: FeatureContext,
        monitor: TrainingMonitor = .silent, phase: String = "meta-training"
    ) throws -> TrainingOutcome {
        var random = SeededGenerator(seed: options.seed).derived("meta-training")
        let users = ratingsByUser.keys.sorted().filter { ratingsByUser[$0]!.count >= options.minimumTaskSize }
        guard !users.isEmpty else {
            return .untrained
        }
        let optimizer = Adam(groups: [ParameterGroup(metaParameters, learningRate: options.outerLearningRate)])
        let batchSize = options.metaBatchSize
        var order = users
        let negativePool = options.ranking.map { _ in RankingLoss.itemPool(ratingsByUser) } ?? []
        let loop = TrainingLoop(
            phase: phase, maxEpochs: options.maxEpochs, patience: options.patience, monitor: monitor,
            divergenceHint:
                "Lower --outer-learning-rate or --inner-learning-rate (both must be small positive numbers).")
        return try loop.run(
            stepsPerEpoch: (users.count + batchSize - 1) / batchSize,
            initialScore: selectable(validationScore(validation)),
            beginEpoch: { _ in
                order = users
                random.shuffle(&order)
            },
            step: { _, step in
                let members = order[((step - 1) * batchSize)..<min(order.count, step * batchSize)]
                let tasks = members.map { user in
                    let task = sampleTask(
                        user: user, ratings: ratingsByUser[user]!, features: features, random: &random)
                    return options.ranking?.withNegatives(
                        task, rated: ratingsByUser[user]!, pool: negativePool, features: features, random: &random)
                        ?? task
                }
                let (meanGradients, loss) = metaGradient(tasks)
                let targets = metaParameters
                optimizer.step(
                    Gradients(targets, zip(targets, meanGradients).map { Tensor(shape: $0.shape, values: $1) }))
                clampInnerRates()
                return loss
            },
            validate: { selectable(validationScore(validation)) },
            snapshot: { (parameters.copied(), innerRates.mapValues { $0.asParameter() }) },
            restore: { best in
                parameters.assign(from: best.0)
                for (name, rate) in best.1 { innerRates[name]?.values = rate.values }
            })
    }

    /// Meta-SGD's rates must stay non-negative, or an inner step would climb the loss.
    private func clampInnerRates() {
        for rate in innerRates.values {
            rate.values.withUnsafeMutableBufferPointer { p in
                for i in p.indices where p[i] < 0 { p[i] = 0 }
            }
        }
    }

    /// A training task from a warm user: up to `maximumTaskSize` of their ratings at random (in
    /// time order), `querySize` of them as the query, the rest as support; with probability
    /// `smallSupportShare`, only the support's earliest 1, 3 or 5 ratings (`smallSupportSizes`).
    func sampleTask(user: Int32, ratings: [Interaction], features: FeatureContext, random: inout SeededGenerator)
        -> PreparedTask
    {
        var chosen = ratings
        if chosen.count > options.maximumTaskSize {
            chosen = random.sample(options.maximumTaskSize, from: ratings.count).sorted().map { ratings[$0] }
        }
        let queryPositions = Set(random.sample(min(options.querySize, chosen.count - 1), from: chosen.count))
        var support: [Interaction] = []
        var query: [Interaction] = []
        for (position, rating) in chosen.enumerated() {
            if queryPositions.contains(position) { query.append(rating) } else { support.append(rating) }
        }
        if let share = options.smallSupportShare, share > 0, let sizes = options.smallSupportSizes, !sizes.isEmpty,
            random.uniform() < share
        {
            support = Array(support.prefix(max(0, sizes[random.integer(below: sizes.count)])))
        }
        return PreparedTask(user: user, support: support, query: query, features: features)
    }

    /// Scores for the query rows after adapting to the support rows (with the support-size
    /// schedule, when the rule has one).
    public func predict(_ task: PreparedTask) -> [Float] {
        predict(task, rule: options.adaptation)
    }

    /// Scores for the query rows after adapting to the support rows with `rule` (a trial rule
    /// while a support-size schedule is chosen) and the learned rates.
    public func predict(_ task: PreparedTask, rule: AdaptationRule) -> [Float] {
        let task = knownHistoryLatest.map { task.historyInSupport(latest: $0) } ?? task
        return model.scoreQuery(
            task, parameters: model.adaptForInference(parameters, to: task, rule: rule, rates: innerRates))
    }

    /// The selection metric on validation tasks, lower is better: MAE (ratings) or 1 − GAUC (clicks).
    public func validationScore(_ tasks: [PreparedTask]) -> Double {
        guard !tasks.isEmpty else { return .nan }
        return selectionScore(tasks, objective: model.configuration.objective, threads: options.threads, predict)
    }
}

/// Mean over tasks of MAE (ratings) or 1 − AUC (clicks; tasks with one class skipped) of
/// `predict`, in parallel: lower is better.
public func selectionScore(
    _ tasks: [PreparedTask], objective: Objective, threads: Int, _ predict: (PreparedTask) -> [Float]
) -> Double {
    let scored = selectionScores(tasks, objective: objective, threads: threads, predict).filter { !$0.isNaN }
    return scored.isEmpty ? .nan : scored.reduce(0, +) / Double(scored.count)
}

/// The per-task terms of ``selectionScore(_:objective:threads:_:)``, NaN where a task's term is
/// undefined (a click task with one class): for paired comparisons of two choices on the same tasks.
public func selectionScores(
    _ tasks: [PreparedTask], objective: Objective, threads: Int, _ predict: (PreparedTask) -> [Float]
) -> [Double] {
    Parallel.map(tasks, workers: threads) { task -> Double in
        let predictions = predict(task)
        let targets = task.queryTargets.values
        switch objective {
        case .rating:
            return Metrics.meanAbsoluteError(predictions, targets)
        case .click:
            // The protocol ranks clicks by per-user AUC (GAUC); calibration across users, which
            // log-loss would reward, is not what a recommender is judged on.
            return Metrics.areaUnderCurve(predictions, targets).map { 1 - $0 } ?? .nan
        }
    }
}

/// A selection score the training loop can select on: nil when it is undefined (no validation
/// task, or no click task with both classes). An infinite score stays, so the loop reports it.
func selectable(_ score: Double) -> Double? { score.isNaN ? nil : score }

/// Adds a gradient (dense or row-sparse) into a dense buffer.
func accumulate(_ gradient: Tensor, into sum: inout [Float]) {
    if let rows = gradient.rowIndices {
        let width = gradient.shape[1]
        gradient.values.withUnsafeBufferPointer { g in
            sum.withUnsafeMutableBufferPointer { s in
                for (slot, row) in rows.enumerated() {
                    let base = Int(row) * width
                    for j in 0..<width { s[base + j] += g[slot * width + j] }
                }
            }
        }
    } else {
        gradient.values.withUnsafeBufferPointer { g in
            sum.withUnsafeMutableBufferPointer { s in
                for j in 0..<g.count { s[j] += g[j] }
            }
        }
    }
}
