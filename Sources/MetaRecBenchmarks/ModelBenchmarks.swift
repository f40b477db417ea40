import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Issue-3 figures on a MeLU-sized model (8 fields × 32 = 256 -> 64 -> 64 -> 1): meta-training
/// throughput in both orders, and the latency of adapting to a new user and ranking 10,000 items.
func runModelBenchmarks() {
    print("== models (backend \(Kernels.backend.rawValue))")
    printKernelHeader()
    // 3 user fields + 4 item fields + the item id = 8 fields of 32: MeLU's 256-wide input.
    let synthetic = BuiltInData.synthetic(seed: 0, users: 2_000, items: 10_000, targetInteractions: 200_000)
    guard let split = try? ProtocolSplit(dataset: synthetic.dataset, options: SplitOptions()) else {
        print("could not split the synthetic data")
        return
    }
    let features = FeatureContext(split)
    let model = MeLUModel(
        configuration: .init(itemIDEmbedding: true, outputBias: 3.5), users: FeatureSpace(split.userFeatures),
        items: FeatureSpace(split.itemFeatures))
    print("model: input \(model.representationWidth) -> 64 -> 64 -> 1; items \(synthetic.dataset.itemCount)")

    var random = SeededGenerator(seed: 1)
    let byUser = split.warmRatingsByUser().filter { $0.value.count >= 30 }
    let users = byUser.keys.sorted()
    func task(_ user: Int32) -> PreparedTask {
        let ratings = byUser[user]!
        let chosen = random.sample(30, from: ratings.count).sorted().map { ratings[$0] }
        return PreparedTask(
            user: user, support: Array(chosen.prefix(20)), query: Array(chosen.suffix(10)), features: features)
    }
    let tasks = (0..<32).map { task(users[$0 % users.count]) }

    // The tasks of a meta-batch run as batched products split over the threads (MetaLearner+Batched).
    print("load average before meta-training: \(loadAverage())")
    for (label, order) in [("second order", MetaGradientOrder.second), ("first order", .first)] {
        var perThreads: [Int: Double] = [:]
        for threads in [1, 2] {
            var options = MetaTrainingOptions()
            options.order = order
            options.threads = threads
            options.adaptation = AdaptationRule(partition: .decisionLayers, steps: 5, learningRate: 0.02)
            let learner = MetaLearner(model: model, options: options)
            let seconds = medianSecondsPerCall(batches: 5, batchSeconds: 1) { _ = learner.metaGradient(tasks) }
            perThreads[threads] = 32 / seconds
            print(
                "meta-step, \(label), 32 tasks x 5 steps x (20 support + 10 query), \(threads) thread(s): "
                    + "\(format(seconds * 1e3, 2)) ms = \(format(32 / seconds, 0)) tasks/s")
        }
        print(
            "  \(label): 2 threads give \(format(perThreads[2]! / perThreads[1]!, 2))x one (load average \(loadAverage()))"
        )
    }

    var random2 = SeededGenerator(seed: 2)
    let parameters = model.initialParameters(using: &random2)
    let candidates = Array(0..<Int32(synthetic.dataset.itemCount))
    let ranker = CandidateRanker(model: model, parameters: parameters, items: features.items, candidates: candidates)
    let rule = AdaptationRule(partition: .decisionLayers, steps: 5, learningRate: 0.02)
    let requests = (0..<50).map { task(users[$0 % users.count]) }
    var next = 0
    let timing = latencies(count: 500) {
        let request = requests[next % requests.count]
        next += 1
        let fast = model.adaptForInference(parameters, to: request, rule: rule)
        let user = GradientMode.withoutRecording { model.userRepresentation(request.userBatch, parameters: fast) }
        _ = ranker.rank(userRepresentation: user, parameters: fast, count: 10, excluding: Set(request.supportItemIDs))
    }
    let probe = requests[0]
    let adaptOnly = latencies(count: 200) { _ = model.adaptForInference(parameters, to: probe, rule: rule) }
    let probeFast = model.adaptForInference(parameters, to: probe, rule: rule)
    let probeUser = GradientMode.withoutRecording { model.userRepresentation(probe.userBatch, parameters: probeFast) }
    let scoreOnly = latencies(count: 200) { _ = ranker.scores(userRepresentation: probeUser, parameters: probeFast) }
    let all = ranker.scores(userRepresentation: probeUser, parameters: probeFast)
    let topOnly = latencies(count: 200) { _ = CandidateRanker.top(10, of: all, items: candidates, excluding: []) }
    print(
        "  of which: adapt p50 \(format(adaptOnly.p50 * 1e3, 2)) ms, score p50 \(format(scoreOnly.p50 * 1e3, 2)) ms, top-10 p50 \(format(topOnly.p50 * 1e3, 3)) ms"
    )
    print(
        "adapt (5 steps on 20 ratings) + score \(candidates.count) items + top 10: "
            + "p50 \(format(timing.p50 * 1e3, 2)) ms, p99 \(format(timing.p99 * 1e3, 2)) ms, mean \(format(timing.mean * 1e3, 2)) ms"
    )
    print("peak resident memory of this benchmark: \((ResourceUsage.peakResidentBytes() ?? 0) / 1_048_576) MiB")
}
