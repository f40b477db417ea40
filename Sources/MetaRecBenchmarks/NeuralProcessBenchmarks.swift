import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Issue-14 figure: TaNP adapts a new user (one forward pass of the encoder over 20 support
/// ratings) and scores a 10,000-item catalogue, beside MAML's adapt-and-score in `models`.
func runNeuralProcessBenchmarks() {
    print("== neural process (TaNP)")
    printKernelHeader()
    let synthetic = BuiltInData.synthetic(seed: 0, users: 2_000, items: 10_000, targetInteractions: 200_000)
    guard let split = try? ProtocolSplit(dataset: synthetic.dataset, options: SplitOptions()) else {
        print("could not split the synthetic data")
        return
    }
    let features = FeatureContext(split)
    var configuration = TaNP.Configuration()
    configuration.itemIDEmbedding = true
    configuration.outputBias = 3.5
    let tanp = TaNP(
        configuration: configuration, users: FeatureSpace(split.userFeatures), items: FeatureSpace(split.itemFeatures))
    let candidates = Array(0..<Int32(synthetic.dataset.itemCount))
    let ranker = TaNPRanker(tanp, items: features.items, candidates: candidates)
    print(
        "TaNP: embedding \(configuration.embeddingSize) per field, encoder \(configuration.encoderSize) -> \(configuration.representationSize), "
            + "FiLM decoder \(configuration.decoderSize); items \(candidates.count)")

    var random = SeededGenerator(seed: 1)
    let byUser = split.warmRatingsByUser().filter { $0.value.count >= 20 }
    let users = byUser.keys.sorted()
    let requests = (0..<50).map { index -> PreparedTask in
        let user = users[index % users.count]
        let ratings = byUser[user]!
        let chosen = random.sample(20, from: ratings.count).sorted().map { ratings[$0] }
        return PreparedTask(user: user, support: chosen, query: [], features: features)
    }
    var next = 0
    let timing = latencies(count: 500) {
        let request = requests[next % requests.count]
        next += 1
        let scores = ranker.scores(request)
        _ = CandidateRanker.top(10, of: scores, items: candidates, excluding: Set(request.supportItemIDs))
    }
    print(
        "adapt (one forward pass over 20 ratings) + score \(candidates.count) items + top 10: "
            + "p50 \(format(timing.p50 * 1e3, 3)) ms, p99 \(format(timing.p99 * 1e3, 3)) ms, mean \(format(timing.mean * 1e3, 3)) ms"
    )
    runBundlePath(tanp, dataset: synthetic.dataset, requests: requests)
}

/// The same requests through the serving path: the TaNP saved as a model bundle, read back,
/// and served by `Recommender` (raw item ids, feedback checks, the stored state, filters).
private func runBundlePath(_ tanp: TaNP, dataset: Dataset, requests: [PreparedTask]) {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "metarec-bench-tanp-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    let recommender: Recommender
    do {
        let experiment = try Experiment(dataset: dataset, seed: 0, threads: 1)
        let description = ModelArchive.DataDescription(
            name: dataset.name, source: "synthetic", seed: 0, implicitThreshold: nil)
        try ModelBundle(archive: ModelArchive(tanp, data: description), experiment: experiment).write(to: url)
        recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
    } catch {
        print("could not build the TaNP bundle: \(error)")
        return
    }
    let feedback: [[(item: String, value: Float)]] = requests.map { request in
        request.supportItemIDs.enumerated().map { (dataset.itemIDs[Int($1)], request.supportTargets.denseValues[$0]) }
    }
    var next = 0
    var failures = 0
    let timing = latencies(count: 500) {
        let pairs = feedback[next % feedback.count]
        next += 1
        do {
            let state = try recommender.adapt(userFeatures: [:], feedback: pairs)
            _ = try recommender.recommend(userFeatures: [:], state: state, count: 10, excluding: Set(pairs.map(\.item)))
        } catch { failures += 1 }
    }
    print(
        "bundle path (Recommender.adapt over 20 ratings + recommend top 10 of \(recommender.itemCount)): "
            + "p50 \(format(timing.p50 * 1e3, 3)) ms, p99 \(format(timing.p99 * 1e3, 3)) ms, mean \(format(timing.mean * 1e3, 3)) ms"
            + (failures > 0 ? " (\(failures) requests failed)" : ""))
    // The two halves apart: what the encoder pass costs, and what ranking with filters costs.
    let states = feedback.map { try? recommender.adapt(userFeatures: [:], feedback: $0) }
    let adaptTiming = latencies(count: 500) {
        _ = try? recommender.adapt(userFeatures: [:], feedback: feedback[next % feedback.count])
        next += 1
    }
    let recommendTiming = latencies(count: 500) {
        let index = next % feedback.count
        next += 1
        _ = try? recommender.recommend(
            userFeatures: [:], state: states[index], count: 10, excluding: Set(feedback[index].map(\.item)))
    }
    print(
        "  of which Recommender.adapt: p50 \(format(adaptTiming.p50 * 1e3, 3)) ms; Recommender.recommend: p50 "
            + "\(format(recommendTiming.p50 * 1e3, 3)) ms, p99 \(format(recommendTiming.p99 * 1e3, 3)) ms")
}
