import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

extension ItemWarmUp {
    /// LWA or NLBA (Vartak et al., NeurIPS 2017) on the warm-up protocol: no gradient step; a phase
    /// reads the item's interactions so far as its support (none when cold, then K, 2K and 3K after
    /// rounds a, b and c) in one forward pass and scores its test interactions.
    public static func runItemTaskAdaptation(
        _ method: any ItemTaskAdaptation, items: [ItemWarmUpItem], features: FeatureContext
    ) -> [ItemWarmUpReport.PhaseResult] {
        let ids = items.map(\.item)
        let query = items.map(\.test)
        let flat = query.flatMap { $0 }
        let targets = Tensor(shape: [flat.count, 1], values: flat.map(\.value))
        return phases.indices.map { seen in
            let support = items.map { Array($0.rounds[..<seen].joined()) }
            let batch = method.batch(items: ids, support: support, query: query, features: features)
            let logits = GradientMode.withoutRecording { method.logits(batch).detached() }
            return score(phase: phases[seen], model: method.model, outputs: logits, targets: targets, items: items)
        }
    }
}

extension Experiment {
    /// Trains LWA and NLBA (Vartak et al., NeurIPS 2017) on the warm items for click data; for each,
    /// one run per Adam rate in `learningRates`, keeping the one with the best objective on the
    /// held-out warm items (never the test items).
    public func trainItemTaskAdaptations(
        base: PretrainedNetwork, options: MetaEmbeddingOptions = .init(), learningRates: [Float] = [0.003, 0.01],
        monitor: TrainingMonitor = .silent, log: ((String) -> Void)? = nil
    ) throws -> [any ItemTaskAdaptation] {
        let makers: [(MetaEmbeddingOptions) throws -> any ItemTaskAdaptation] = [
            { try LinearWeightAdaptation(model: base.model, base: base.parameters, options: $0) },
            { try NonlinearBiasAdaptation(model: base.model, base: base.parameters, options: $0) },
        ]
        return try makers.map { make in
            var best: (score: Double, method: any ItemTaskAdaptation)?
            for rate in learningRates.isEmpty ? [options.learningRate] : learningRates {
                var candidate = options
                candidate.seed = initialisationSeed
                candidate.learningRate = rate
                let method = try make(candidate)
                let summary = try method.fit(training: split.warmInteractions, features: features, monitor: monitor)
                let score = summary.validationObjective[summary.bestEpoch]
                log?(
                    "\(method.name): rate \(rate), best epoch \(summary.bestEpoch) of \(summary.epochsRun), "
                        + String(format: "validation objective %.4f", score))
                if best == nil || score < best!.score { best = (score, method) }
            }
            return best!.method
        }
    }
}
