import Foundation
import MetaRecCore
import MetaRecData

extension Experiment {
    /// Validation tasks with all their support and with only the 1 and 3 earliest ratings, so
    /// that selection weighs a new user's first ratings as much as a full history (issue 14).
    public func fewShotValidation(sizes: [Int] = [1, 3]) -> [PreparedTask] {
        let tasks = split.tasks(.validation)
        return validation
            + sizes.flatMap { k in
                Parallel.map(tasks, workers: threads) { [features] in
                    PreparedTask($0.truncatedSupport(toEarliest: k), features: features)
                }
            }
    }

    /// TaNP trained on the warm users, selected on validation users at full, 1- and 3-rating
    /// supports: one model per configuration of `candidates` (default: with and without the item
    /// id embedding), and the one with the best validation score is kept.
    public func trainTaNP(
        configuration: TaNP.Configuration = .init(), candidates: [TaNP.Configuration]? = nil,
        monitor: TrainingMonitor = .silent
    ) throws -> TaNP {
        let validationTasks = fewShotValidation()
        let variants =
            candidates
            ?? [true, false].map { itemIDs in
                var variant = configuration
                variant.itemIDEmbedding = itemIDs
                return variant
            }
        var best: (score: Double, model: TaNP)?
        for variant in variants {
            var configuration = variant
            configuration.seed = initialisationSeed
            configuration.threads = threads
            configuration.objective = objective
            let mean = globalMean
            configuration.outputBias =
                objective == .rating ? mean : Foundation.log(max(mean, 1e-3) / max(1 - mean, 1e-3))
            let tanp = TaNP(
                configuration: configuration, users: FeatureSpace(split.userFeatures),
                items: FeatureSpace(split.itemFeatures))
            try tanp.fit(
                training: split.warmRatingsByUser(), validation: validationTasks, features: features, monitor: monitor,
                phase: variant.itemIDEmbedding ? "TaNP (item ids)" : "TaNP")
            let score = selectionScore(validationTasks, objective: objective, threads: threads, tanp.predict)
            if best == nil || score < best!.score { best = (score, tanp) }
        }
        return best!.model
    }
}
