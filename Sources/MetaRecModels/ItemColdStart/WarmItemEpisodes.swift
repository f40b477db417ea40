import Foundation
import MetaRecCore
import MetaRecData

/// The meta-training both new-item methods share (MetaEmb, Pan et al., SIGIR 2019; MWUF, Zhu et
/// al., SIGIR 2021): each warm item with at least 2K interactions is an episode whose K first
/// interactions play a new item's first users and whose K next ones score the result; a seeded
/// share of these items is held out and selects the epoch on the one ``TrainingLoop`` (the test
/// items are never seen).
enum WarmItemEpisodes {
    /// What a method's meta-batch must tell the episodes: its items, to weight validation batches.
    protocol Batch { var items: [Int32] { get } }

    /// Trains `parameters` on the episodes and keeps the best epoch.
    /// - Parameters:
    ///   - method: the method's name, in errors and progress.
    ///   - seedName: names the streams derived from `options.seed` for the item split and draws.
    ///   - batch: encodes items with their first (cold) and scoring (warm) interactions.
    ///   - objective: the meta-objective of a batch and its cold and warm parts; `training` is
    ///     false for validation, which needs no graph for a second derivative.
    static func train<Episode: Batch>(
        method: String, seedName: String, options: MetaEmbeddingOptions, training: [Interaction],
        parameters: ParameterSet, monitor: TrainingMonitor, divergenceHint: String,
        batch: ([Int32], [[Interaction]], [[Interaction]]) -> Episode,
        objective: (Episode, _ training: Bool) -> (objective: Tensor, cold: Float, warm: Float)
    ) throws -> MetaEmbeddingTrainingSummary {
        let start = Date()
        let k = options.k
        var byItem: [Int32: [Interaction]] = [:]
        for x in training { byItem[x.item, default: []].append(x) }
        var eligible = byItem.keys.filter { byItem[$0]!.count >= 2 * k }.sorted()
        guard eligible.count >= 2 else {
            throw MetaEmbeddingError(
                "\(method): \(eligible.count) warm items have at least 2K = \(2 * k) interactions; need 2 or more (lower K)"
            )
        }
        var random = SeededGenerator(seed: options.seed).derived("\(seedName)-items")
        random.shuffle(&eligible)
        let validationCount = min(
            eligible.count - 1, max(1, Int((Double(eligible.count) * options.validationFraction).rounded())))
        let validationItems = Array(eligible[..<validationCount]).sorted()
        var trainingItems = Array(eligible[validationCount...]).sorted()

        func draw(_ items: [Int32], _ random: inout SeededGenerator) -> Episode {
            var cold: [[Interaction]] = []
            var warm: [[Interaction]] = []
            for item in items {
                let all = byItem[item]!
                let picked = random.sample(2 * k, from: all.count).map { all[$0] }
                cold.append(Array(picked[..<k]))
                warm.append(Array(picked[k...]))
            }
            return batch(items, cold, warm)
        }
        var validationRandom = SeededGenerator(seed: options.seed).derived("\(seedName)-validation")
        let validationBatches = stride(from: 0, to: validationItems.count, by: options.metaBatchSize).map {
            draw(Array(validationItems[$0..<min(validationItems.count, $0 + options.metaBatchSize)]), &validationRandom)
        }
        /// The objective and its cold and warm parts on the held-out items, weighted by batch size.
        func validate() -> (objective: Double, cold: Double, warm: Double) {
            var total = 0.0
            var cold = 0.0
            var warm = 0.0
            for batch in validationBatches {
                let result = objective(batch, false)
                let weight = Double(batch.items.count) / Double(validationItems.count)
                total += Double(result.objective.scalar) * weight
                cold += Double(result.cold) * weight
                warm += Double(result.warm) * weight
            }
            return (total, cold, warm)
        }

        let optimizer = Adam(groups: [ParameterGroup(parameters.tensors, learningRate: options.learningRate)])
        let before = validate()
        // The cold and warm parts of the last validation; `snapshot` keeps them with the best epoch.
        var last = (cold: before.cold, warm: before.warm)
        var bestParts = last
        let batchSize = options.metaBatchSize
        let loop = TrainingLoop(
            phase: method, maxEpochs: options.epochs, patience: options.patience, monitor: monitor,
            divergenceHint: divergenceHint)
        let outcome = try loop.run(
            stepsPerEpoch: (trainingItems.count + batchSize - 1) / batchSize,
            initialScore: before.objective,
            beginEpoch: { _ in random.shuffle(&trainingItems) },
            step: { _, step in
                let items = Array(trainingItems[((step - 1) * batchSize)..<min(trainingItems.count, step * batchSize)])
                let result = objective(draw(items, &random), true).objective
                let tensors = parameters.tensors
                optimizer.step(Gradients(tensors, gradients(of: result, withRespectTo: tensors)))
                return result.scalar
            },
            validate: {
                let result = validate()
                last = (result.cold, result.warm)
                return result.objective
            },
            snapshot: { (parameters.copied(), last) },
            restore: { best in
                parameters.assign(from: best.0)
                bestParts = best.1
            })
        return MetaEmbeddingTrainingSummary(
            trainingItems: trainingItems.count, validationItems: validationItems.count, epochsRun: outcome.epochsRun,
            bestEpoch: outcome.bestEpoch, validationObjective: outcome.validationHistory,
            validationColdLoss: bestParts.cold, validationWarmLoss: bestParts.warm,
            seconds: Date().timeIntervalSince(start))
    }
}

extension MetaEmbeddingBatch: WarmItemEpisodes.Batch {}
