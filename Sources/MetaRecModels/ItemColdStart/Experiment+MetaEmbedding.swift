import Foundation
import MetaRecCore
import MetaRecData

extension MetaEmbeddingOptions {
    /// The inner rates α the generator is selected among on held-out warm items, by `metarec
    /// train`'s bundles and `metarec evaluate --item-warmup` alike.
    public static let candidateInnerRates: [Float] = [0.01, 0.03, 0.1, 0.3]
}

extension Experiment {
    /// Warm items: existing items with at least one warm interaction (the rows of the ID table that training moved).
    public var trainedItems: [Int32] { Array(Set(split.warmInteractions.map(\.item))).sorted() }

    /// Trains a meta-embedding generator (Pan et al., SIGIR 2019) on the warm items for a trained
    /// network with item-id embeddings, frozen; its scale is the standard deviation of the trained
    /// ID embeddings. One generator is trained per candidate inner rate α and the one with the best
    /// validation objective (held-out warm items) is kept.
    /// - Parameter innerRates: the candidates; empty means `options.innerLearningRate` alone.
    public func trainMetaEmbedding(
        model: MeLUModel, parameters: ParameterSet, options: MetaEmbeddingOptions = .init(),
        innerRates: [Float] = MetaEmbeddingOptions.candidateInnerRates, monitor: TrainingMonitor = .silent,
        log: ((String) -> Void)? = nil
    ) throws -> MetaEmbeddingGenerator {
        guard parameters[MeLUModel.itemIDEmbeddingName] != nil else {
            throw MetaEmbeddingError(
                "the base network has no item-id embeddings; train it with MeLUModel.Configuration(itemIDEmbedding: true)"
            )
        }
        let statistics = MetaEmbeddingGenerator.idEmbeddingStatistics(parameters, items: trainedItems)
        var best: (score: Double, generator: MetaEmbeddingGenerator)?
        for rate in innerRates.isEmpty ? [options.innerLearningRate] : innerRates {
            guard !monitor.isInterrupted() else { break }
            var candidate = options
            candidate.seed = initialisationSeed
            candidate.innerLearningRate = rate
            let generator = try MetaEmbeddingGenerator(
                model: model, base: parameters, options: candidate, scale: max(statistics.standardDeviation, 1e-4))
            let summary = try generator.fit(training: split.warmInteractions, features: features, monitor: monitor)
            let score = summary.validationObjective[summary.bestEpoch]
            log?(String(format: "meta-embedding: inner rate %g, validation objective %.4f", Double(rate), score))
            if best == nil || score < best!.score { best = (score, generator) }
        }
        guard let best else {
            throw MetaEmbeddingError("interrupted before the first meta-embedding generator was trained")
        }
        return best.generator
    }
}
