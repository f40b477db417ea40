import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// TaNP in the model bundle and the ``Recommender``: the archive round trip keeps every
/// prediction, serving ranks exactly as `TaNP.predict` on the same task, new items are scored
/// from their features (and a generated id embedding), and questions fall back to popularity.
@Suite struct TaNPServingTests {
    let experiment = ServingFixture.experiment

    func feedback(_ rows: [(Int32, Float)]) -> [(item: String, value: Float)] {
        rows.map { (experiment.dataset.itemIDs[Int($0.0)], $0.1) }
    }

    var allItems: [Interaction] {
        (0..<Int32(experiment.dataset.itemCount)).map { Interaction(user: 0, item: $0, value: 0, timestamp: 0) }
    }

    @Test func archiveRoundTripGivesIdenticalPredictions() throws {
        let (tanp, url) = try ServingFixture.tanpBundle()
        let archive = try ModelBundle(contentsOf: url).archive
        #expect(archive.header.kind == .tanp && archive.header.tanp == tanp.configuration)
        let restored = try #require(try archive.predictor() as? TaNP)
        #expect(restored.parameters.names.sorted() == tanp.parameters.names.sorted())
        for task in experiment.validation.prefix(5) { #expect(restored.predict(task) == tanp.predict(task)) }
    }

    @Test func refusesATaNPArchiveWhoseShapesDoNotFit() throws {
        let (tanp, _) = try ServingFixture.tanpBundle()
        var archive = ModelArchive(tanp, data: ServingFixture.description)
        archive.parameters["film.scale.weight"] = Tensor.zeros([2, 2]).asParameter()
        let url = ServingFixture.temporaryDirectory().appendingPathComponent("bad.safetensors")
        try archive.write(to: url)
        #expect { try ModelArchive(contentsOf: url).predictor() } throws: { error in
            "\(error)".contains("film.scale.weight") && "\(error)".contains("[2, 2]")
        }
    }

    @Test func recommenderRanksLikeTaNPPredict() throws {
        let (tanp, url) = try ServingFixture.tanpBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        #expect(!recommender.hasUncertainty && recommender.objective == .rating)
        let user: Int32 = 5
        let rated: [(Int32, Float)] = [(0, 5), (3, 1), (7, 4)]
        let support = rated.enumerated().map { Interaction(user: user, item: $1.0, value: $1.1, timestamp: Int64($0)) }
        let query = allItems.map { Interaction(user: user, item: $0.item, value: 0, timestamp: 0) }
        let features = experiment.dataset.rawUserFeatures.values(of: Int(user))
        let scale = recommender.bundle.description.feedback

        func check(_ state: Recommender.AdaptedState?, against expected: [Float]) throws -> [String: Float] {
            let ranked = try recommender.recommend(userFeatures: features, state: state, count: query.count)
            #expect(ranked.count == query.count && ranked.map(\.score) == ranked.map(\.score).sorted(by: >))
            let byID = Dictionary(uniqueKeysWithValues: ranked.map { ($0.id, $0.score) })
            for (index, id) in experiment.dataset.itemIDs.enumerated() {
                #expect(abs(byID[id]! - scale.clipped(expected[index])) < 1e-4, "item \(id)")
            }
            return byID
        }
        let state = try recommender.adapt(userFeatures: features, feedback: feedback(rated))
        #expect(state.values.count == recommender.adaptedStateSize && state.values.count == 6)
        let adapted = try check(
            state,
            against: tanp.predict(
                PreparedTask(user: user, support: support, query: query, features: experiment.features)))
        // No feedback: TaNP's learned prior, the same as a task with an empty support.
        let prior = try check(
            nil,
            against: tanp.predict(PreparedTask(user: user, support: [], query: query, features: experiment.features)))
        #expect(adapted != prior, "feedback moved the scores")
        #expect(
            try recommender.adapt(userFeatures: features, feedback: []).values
                == tanp.parameters.tensor("encoder.empty").denseValues)
        #expect { try recommender.recommend(userFeatures: features, state: .init(values: [1, 2]), count: 3) } throws: {
            "\($0)".contains("2 values") && "\($0)".contains("6")
        }
    }

    /// Without item-id embeddings an item is its features: a new item with an old one's
    /// features scores exactly like it, and feedback on it adapts the user the same way.
    @Test func aNewItemIsItsFeatures() throws {
        let (_, url) = try ServingFixture.tanpBundle(itemIDEmbedding: false)
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let source = experiment.dataset.itemIDs[2]
        try recommender.addItem(id: "new-1", title: "New", features: experiment.dataset.rawItemFeatures.values(of: 2))
        let other = experiment.dataset.itemIDs[4]
        let onNew = try recommender.adapt(userFeatures: [:], feedback: [("new-1", 5), (other, 2)])
        let onSource = try recommender.adapt(userFeatures: [:], feedback: [(source, 5), (other, 2)])
        #expect(onNew == onSource)
        let ranked = try recommender.recommend(
            userFeatures: [:], state: onNew, count: 2, candidates: ["new-1", source])
        #expect(ranked.count == 2 && abs(ranked[0].score - ranked[1].score) < 1e-6)
    }

    /// With item-id embeddings, a new item's id embedding comes from the bundle's meta-embedding
    /// generator: it scores as TaNP does with that embedding in the item's row of the id table.
    @Test func aNewItemGetsTheGeneratedIDEmbedding() throws {
        let (tanp, url) = try ServingFixture.tanpBundle()
        var bundle = try ModelBundle(contentsOf: url)
        let e = tanp.configuration.embeddingSize
        var random = SeededGenerator(seed: 11)
        let weight = Tensor.normal([tanp.itemFeatureWidth, e], standardDeviation: 0.5, using: &random)
        let bias = Tensor.normal([e], standardDeviation: 0.5, using: &random)
        bundle.generator = ParameterSet([
            (MetaEmbeddingGenerator.weightName, weight), (MetaEmbeddingGenerator.biasName, bias),
        ])
        bundle.description.generatorScale = 0.3
        let recommender = try Recommender(bundle: bundle)
        let source = 2
        try recommender.addItem(
            id: "new-1", title: "New", features: experiment.dataset.rawItemFeatures.values(of: source))

        let generated = GradientMode.withoutRecording { () -> [Float] in
            let block = tanp.itemFeatureRepresentation(
                EntityBatch(experiment.features.items, entities: [Int32(source)]), tanp.parameters)
            return (tanh(linear(block, weight: weight, bias: bias)) * 0.3).denseValues
        }
        var table = tanp.parameters.tensor(ParameterName.itemIDEmbedding).denseValues
        table.replaceSubrange((source * e)..<((source + 1) * e), with: generated)
        let withGenerated = TaNP(
            configuration: tanp.configuration, users: tanp.users, items: tanp.items,
            parameters: tanp.parameters.replacing([
                ParameterName.itemIDEmbedding: Tensor(
                    shape: tanp.parameters.tensor(ParameterName.itemIDEmbedding).shape, values: table)
            ]))
        let expected = withGenerated.predict(
            PreparedTask(
                userBatch: EntityBatch.unknown(tanp.users), support: [],
                query: [Interaction(user: 0, item: Int32(source), value: 0, timestamp: 0)],
                features: experiment.features))[0]
        let ranked = try recommender.recommend(userFeatures: [:], state: nil, count: 1, candidates: ["new-1"])
        #expect(abs(ranked[0].score - bundle.description.feedback.clipped(expected)) < 1e-4)

        bundle.generator = ParameterSet([
            (MetaEmbeddingGenerator.weightName, Tensor.zeros([3, e])), (MetaEmbeddingGenerator.biasName, bias),
        ])
        #expect { try Recommender(bundle: bundle) } throws: { "\($0)".contains("generator") }
    }

    @Test func questionsFallBackToPopularItems() throws {
        let (_, url) = try ServingFixture.tanpBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let excluded = experiment.dataset.itemIDs[0]
        let questions = try recommender.questions(count: 4, excluding: [excluded])
        #expect(questions.count == 4 && !questions.contains { $0.item.id == excluded })
        #expect(questions.allSatisfy { $0.expectedVarianceReduction == nil })
        #expect(questions.map(\.item.popularity) == questions.map(\.item.popularity).sorted(by: >))
        let mostPopular = recommender.items(offset: 0, limit: recommender.itemCount).items
            .filter { $0.id != excluded }.map(\.popularity).max()
        #expect(questions[0].item.popularity == mostPopular)
    }
}
