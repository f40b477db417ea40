import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import Testing

@testable import MetaRecEvaluation

/// A small synthetic world with planted item structure, a base model with ID embeddings and a
/// trained generator, shared by the warm-up tests.
final class WarmUpWorld: @unchecked Sendable {
    static let shared = WarmUpWorld()

    let experiment: Experiment
    let base: PretrainedNetwork
    let generator: MetaEmbeddingGenerator
    let options = ItemWarmUpOptions(k: 3, minimumTestInteractions: 10, stepsPerRound: 1)

    init() {
        let data = BuiltInData.synthetic(seed: 0, users: 400, items: 200, targetInteractions: 20_000)
        experiment = try! Experiment(dataset: data.dataset, seed: 0, threads: 1)
        var pretraining = PretrainedNetwork.Options()
        pretraining.maxEpochs = 15
        pretraining.learningRate = 1e-2
        base = try! experiment.trainPretrained(
            options: pretraining,
            model: MeLUModel.Configuration(embeddingSize: 8, hiddenSizes: [16], itemIDEmbedding: true))
        var options = MetaEmbeddingOptions(
            k: 5, innerLearningRate: 0.3, epochs: 15, metaBatchSize: 16, learningRate: 1e-2)
        options.patience = 15
        generator = try! experiment.trainMetaEmbedding(base: base, options: options, innerRates: [0.03, 0.1, 0.3])
    }
}

@Suite(.serialized) struct ItemWarmUpTests {
    let world = WarmUpWorld.shared

    /// Cold MAE on the new items: the generated embeddings beat random N(0, σ²) draws (averaged
    /// over five seeds, paired on the same items) and the zero embedding the base model uses.
    @Test func generatedEmbeddingsBeatRandomInitialisationCold() throws {
        var randomMAE: [Double] = []
        var first: ItemWarmUpReport?
        for seed in 0..<5 {
            var options = world.options
            options.seed = UInt64(seed)
            let report = try world.experiment.itemWarmUp(base: world.base, generator: world.generator, options: options)
            first = first ?? report
            randomMAE.append(report.rows.first { $0.initialisation.hasPrefix("random") }!.phases[0].meanAbsoluteError)
        }
        let report = try #require(first)
        #expect(report.items >= 10, "only \(report.items) new items to evaluate")
        func cold(_ name: String) -> Double {
            report.rows.first { $0.initialisation.hasPrefix(name) }!.phases[0].meanAbsoluteError
        }
        let random = randomMAE.reduce(0, +) / Double(randomMAE.count)
        let generated = cold("MetaEmb")
        #expect(
            generated < random - 0.003, "cold MAE: generated \(generated), random \(randomMAE)\n\(report.markdown())")
        #expect(generated < cold("zero"), "cold MAE: generated \(generated), zero \(cold("zero"))")
        #expect(report.rows.allSatisfy { $0.phases.map(\.phase) == ItemWarmUp.phases })
        #expect(report.markdown().contains("| MetaEmb (generated) |"))
        // The generator's validation objective improved on its initial weights.
        let summary = try #require(report.generator)
        #expect(summary.validationObjective[summary.bestEpoch] < summary.validationObjective[0])
    }

    @Test func warmUpChangesOnlyTheNewItemsEmbeddings() throws {
        let (items, _) = ItemWarmUp.items(
            dataset: world.experiment.dataset, split: world.experiment.split, k: 3, minimumTestInteractions: 10)
        let subset = Array(items.prefix(4))
        let base = world.base.parameters
        let before = base.names.map { base.tensor($0).denseValues }
        let initial = world.generator.embeddings(for: subset.map(\.item), features: world.experiment.features.items)
        let result = ItemWarmUp.run(
            model: world.base.model, parameters: base, items: subset, initial: initial,
            features: world.experiment.features, k: 3, steps: 2, learningRate: 0.5)
        #expect(base.names.map { base.tensor($0).denseValues } == before, "the base parameters changed")
        let name = MeLUModel.itemIDEmbeddingName
        for parameter in base.names where parameter != name {
            #expect(
                result.parameters.tensor(parameter).denseValues == base.tensor(parameter).denseValues,
                "\(parameter) changed")
        }
        let width = world.base.model.configuration.embeddingSize
        let table = result.parameters.tensor(name).denseValues
        let original = base.tensor(name).denseValues
        let warmed = Set(subset.map { Int($0.item) })
        for row in 0..<(table.count / width) {
            let slice = Array(table[(row * width)..<((row + 1) * width)])
            if let slot = subset.firstIndex(where: { Int($0.item) == row }) {
                #expect(
                    slice != Array(initial.values[(slot * width)..<((slot + 1) * width)]), "item \(row) did not move")
            } else {
                #expect(
                    warmed.contains(row) || slice == Array(original[(row * width)..<((row + 1) * width)]),
                    "row \(row) changed")
            }
        }
        #expect(result.phases.count == 4)
    }

    @Test func badOptionsAreRejected() {
        for k in [0, -1] {
            #expect(throws: MetaEmbeddingError.self) {
                try world.experiment.itemWarmUp(
                    base: world.base, generator: world.generator, options: ItemWarmUpOptions(k: k))
            }
        }
        #expect(throws: MetaEmbeddingError.self) {
            try world.experiment.itemWarmUp(
                base: world.base, generator: world.generator, options: ItemWarmUpOptions(stepsPerRound: -1))
        }
        // No item has 3K + 10 interactions: a clear error.
        #expect(throws: MetaEmbeddingError.self) {
            try world.experiment.itemWarmUp(
                base: world.base, generator: world.generator, options: ItemWarmUpOptions(k: 5_000))
        }
    }

    @Test func rankAUCAgreesWithPairCounting() {
        var random = SeededGenerator(seed: 4)
        let scores = (0..<60).map { _ in Float(random.integer(below: 8)) }
        let labels = (0..<60).map { _ in random.uniform() < 0.4 ? Float(1) : 0 }
        let byRank = Metrics.areaUnderCurve(scores, labels)!
        var wins = 0.0
        var pairs = 0.0  // every (positive, negative) pair, ties one half
        for p in labels.indices where labels[p] == 1 {
            for n in labels.indices where labels[n] == 0 {
                pairs += 1
                wins += scores[p] > scores[n] ? 1 : (scores[p] == scores[n] ? 0.5 : 0)
            }
        }
        let byPairs = wins / pairs
        #expect(abs(byRank - byPairs) < 1e-9)
    }
}
