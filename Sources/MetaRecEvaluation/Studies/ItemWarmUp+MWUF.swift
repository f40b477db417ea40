import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

extension ItemWarmUp {
    /// MWUF on the warm-up protocol (Zhu et al., SIGIR 2021): each new item's raw embedding starts
    /// at the warmer's cold embedding; a phase scores with ψ(x) ⊙ raw + ω(mean of the item's users
    /// so far), and each round's SGD steps move the raw embeddings through that warming.
    public static func runMetaWarmUp(
        _ warmer: MetaWarmUp, items: [ItemWarmUpItem], features: FeatureContext, k: Int, steps: Int, learningRate: Float
    ) -> [ItemWarmUpReport.PhaseResult] {
        let model = warmer.model
        let parameters = warmer.base.copied()
        let table = parameters.tensor(MeLUModel.itemIDEmbeddingName)
        let width = table.shape[1]
        let ids = items.map(\.item)
        let itemFeatures = model.itemFeatureRepresentation(
            EntityBatch(features.items, entities: ids), parameters: warmer.base)
        let raw = Tensor(
            shape: [items.count, width],
            values: Array(repeating: warmer.coldEmbedding.denseValues, count: items.count).flatMap { $0 }
        )
        .asParameter()
        var meanUsers = Tensor.zeros([items.count, model.userRepresentationWidth])
        func warmed() -> Tensor { warmer.warm(itemFeatures: itemFeatures, embeddings: raw, meanUsers: meanUsers) }
        let test = TestRows(items: items, features: features)
        func evaluate(_ phase: String) -> ItemWarmUpReport.PhaseResult {
            let values = GradientMode.withoutRecording { warmed().denseValues }
            for (slot, item) in ids.enumerated() {
                for j in 0..<width { table.values[Int(item) * width + j] = values[slot * width + j] }
            }
            return score(phase: phase, model: model, parameters: parameters, items: items, test: test)
        }
        let optimizer = SGD(groups: [ParameterGroup([raw], learningRate: learningRate)])
        var phases = [evaluate(Self.phases[0])]
        var seen: [[Interaction]] = items.map { _ in [] }
        for round in 0..<3 {
            let batch = MetaEmbeddingBatch.encode(
                model: model, base: warmer.base, items: ids, cold: items.map { $0.rounds[round] },
                warm: items.map { $0.rounds[round] }, features: features)
            for _ in 0..<steps {
                let representation = model.representation(
                    userPart: batch.warm.userPart, itemFeatures: batch.warm.itemFeatures,
                    itemIDEmbedding: embeddingBag(warmed(), batch.warm.slots))
                // n × the mean loss: each item's raw embedding gets the gradient of its own batch.
                let loss =
                    model.loss(model.decide(representation, parameters: warmer.base), batch.warm.targets)
                    * Float(items.count)
                optimizer.step(Gradients([raw], gradients(of: loss, withRespectTo: [raw])))
            }
            for slot in items.indices { seen[slot] += items[slot].rounds[round] }
            let users = MetaEmbeddingBatch.encode(
                model: model, base: warmer.base, items: ids, cold: seen, warm: seen, features: features)
            meanUsers = MetaWarmUp.meanUsers(users.cold, items: items.count)
            phases.append(evaluate(Self.phases[round + 1]))
        }
        return phases
    }
}

extension Experiment {
    /// Trains MWUF's scaling and shifting networks on the warm items for `base` (with item-id
    /// embeddings); the cold embedding is the mean trained ID embedding.
    public func trainMetaWarmUp(
        base: PretrainedNetwork, options: MetaEmbeddingOptions = .init(), monitor: TrainingMonitor = .silent,
        log: ((String) -> Void)? = nil
    ) throws -> MetaWarmUp {
        guard base.parameters[MeLUModel.itemIDEmbeddingName] != nil else {
            throw MetaEmbeddingError(
                "the base network has no item-id embeddings; train it with MeLUModel.Configuration(itemIDEmbedding: true)"
            )
        }
        var options = options
        options.seed = initialisationSeed
        let statistics = MetaEmbeddingGenerator.idEmbeddingStatistics(base.parameters, items: trainedItems)
        let warmer = try MetaWarmUp(
            model: base.model, base: base.parameters, coldEmbedding: statistics.mean, options: options)
        let summary = try warmer.fit(training: split.warmInteractions, features: features, monitor: monitor)
        log?(
            String(
                format: "MWUF: best epoch %d of %d, validation objective %.4f", summary.bestEpoch, summary.epochsRun,
                summary.validationObjective[summary.bestEpoch]))
        return warmer
    }
}
