import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Issue-19 figures: ranking from a stored state, one request through ``Recommender`` (filters,
/// scoring, top 10), per state kind at 10k, 100k and 1M items; and adapt + rank at 10k items.
/// Untrained models of the served shape (8 fields × 32 -> 64 -> 64 -> 1; the covariance head
/// with its default k = 17): the arithmetic does not depend on the training.
func runServingBenchmarks() {
    print("== serving (backend \(Kernels.backend.rawValue))")
    printKernelHeader()
    let description = ModelArchive.DataDescription(
        name: "synthetic", source: "synthetic", seed: 0, implicitThreshold: nil)
    for itemCount in [10_000, 100_000, 1_000_000] {
        let synthetic = BuiltInData.synthetic(
            seed: 0, users: 1_000, items: itemCount, targetInteractions: max(60_000, itemCount * 2))
        guard let experiment = try? Experiment(dataset: synthetic.dataset, seed: 0, threads: 1) else {
            print("could not split the synthetic data at \(itemCount) items")
            return
        }
        let rated = (0..<5).map { (synthetic.dataset.itemIDs[$0 * 7], Float(1 + $0 % 5)) }
        let excluded = Set(rated.map(\.0))
        let samples = itemCount >= 1_000_000 ? 30 : 300
        func measure(_ label: String, _ makeArchive: () throws -> ModelArchive) {
            do {
                let recommender = try Recommender(
                    bundle: ModelBundle(archive: try makeArchive(), experiment: experiment))
                let state = try recommender.adapt(userFeatures: [:], feedback: rated.map { ($0.0, $0.1) })
                let timing = latencies(count: samples) {
                    _ = try? recommender.recommend(
                        userFeatures: [:], state: state, count: 10, excluding: excluded)
                }
                print(
                    "rank from stored state, \(label), \(itemCount) items, top 10: p50 \(format(timing.p50 * 1e3, 3)) ms, p99 \(format(timing.p99 * 1e3, 3)) ms"
                )
            } catch {
                print("\(label): \(error)")
            }
        }
        let network = MeLUModel.Configuration(itemIDEmbedding: true, outputBias: 3.5)
        var modulated = network
        modulated.modulation = true
        func learner(_ partition: ParameterPartition, _ model: MeLUModel.Configuration) -> ModelArchive {
            var options = MetaTrainingOptions()
            options.adaptation = AdaptationRule(partition: partition, steps: 5, learningRate: 0.02)
            return ModelArchive(experiment.makeMetaLearner(options: options, model: model), data: description)
        }
        measure("covariance head (k = 17)") {
            ModelArchive(
                CovarianceHead(
                    configuration: .init(), users: FeatureSpace(experiment.split.userFeatures),
                    items: FeatureSpace(experiment.split.itemFeatures), noiseVariance: 1),
                data: description)
        }
        measure("last layer") { learner(.lastLayer, network) }
        measure("last modulation (modulation.1)") { learner(.named(["modulation.1"]), modulated) }
        measure("modulation (every layer)") { learner(.modulation, modulated) }
        if itemCount <= 100_000 {
            measure("decision layers (MAML default)") { learner(.decisionLayers, network) }
        } else {
            print("rank from stored state, decision layers, \(itemCount) items: not run (see the arithmetic below)")
        }
        if itemCount == 10_000 {
            // Adapt (5 steps on 20 ratings, decision layers) + rank, as a first visit costs.
            let archive = learner(.decisionLayers, network)
            if let recommender = try? Recommender(bundle: ModelBundle(archive: archive, experiment: experiment)) {
                let feedback = (0..<20).map { (synthetic.dataset.itemIDs[$0 * 13], Float(1 + $0 % 5)) }
                let timing = latencies(count: 200) {
                    guard let state = try? recommender.adapt(userFeatures: [:], feedback: feedback) else { return }
                    _ = try? recommender.recommend(userFeatures: [:], state: state, count: 10, excluding: excluded)
                }
                print(
                    "adapt (5 steps on 20 ratings, decision layers) + rank 10000 items: p50 \(format(timing.p50 * 1e3, 2)) ms, p99 \(format(timing.p99 * 1e3, 2)) ms"
                )
            }
        }
        if itemCount == 10_000 {
            let probe = experiment.makeMetaLearner(model: network)
            let itemWidth = CandidateRanker(
                model: probe.model, parameters: probe.parameters, items: experiment.features.items, candidates: [0]
            ).itemRowWidth
            arithmetic(itemWidth: itemWidth)
        }
    }
    print("peak resident memory of this benchmark: \((ResourceUsage.peakResidentBytes() ?? 0) / 1_048_576) MiB")
}

/// What a decision-layer request must compute: no cache can hold the first layer's product
/// when its weight adapts per user.
private func arithmetic(itemWidth: Int) {
    let perItem = itemWidth * 64 + 64 * 64 + 64
    print(
        "arithmetic, decision layers: \(perItem) multiply-adds per item (\(itemWidth)x64 + 64x64 + 64) = \(format(Double(perItem) * 2e4 / 1e6, 0)) MFLOP per request at 10,000 items; last layer: 64 per item; covariance head: 17 per item (double)"
    )
}
