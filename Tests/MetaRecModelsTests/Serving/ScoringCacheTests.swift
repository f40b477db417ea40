import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// The serving caches (issue 19): the shared network outputs cached per user block give the
/// scores of the uncached pass for every state kind, also after items are added; the partial
/// top-k equals a full sort's; the row-set filters exclude exactly the right items; the
/// covariance head's cached questions are the chooser's.
@Suite struct ScoringCacheTests {
    let experiment = ServingFixture.experiment

    /// Two hidden layers with modulation, so every stage of ``CandidateRanker`` is exercised.
    func learner() -> MetaLearner {
        experiment.makeMetaLearner(
            model: .init(embeddingSize: 8, hiddenSizes: [16, 8], itemIDEmbedding: true, modulation: true))
    }

    /// `parameters` with every `names` tensor moved by seeded noise: a user's adapted state.
    func adapted(_ parameters: ParameterSet, _ names: [String], seed: UInt64) -> ParameterSet {
        var random = SeededGenerator(seed: seed)
        return parameters.replacing(
            Dictionary(
                uniqueKeysWithValues: names.map { name in
                    let tensor = parameters.tensor(name)
                    return (
                        name,
                        Tensor(
                            shape: tensor.shape,
                            values: tensor.denseValues.map { $0 + random.normal(mean: 0, standardDeviation: 0.3) })
                    )
                }))
    }

    func expectClose(_ cached: [Float], _ reference: [Float], _ comment: Comment) {
        #expect(cached.count == reference.count, comment)
        let worst = zip(cached, reference).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst <= 1e-5, "\(comment): worst relative difference \(worst)")
    }

    @Test(arguments: [
        ParameterPartition.lastLayer, .modulation, .named(["modulation.1"]), .named(["modulation.0"]),
        .decisionLayers, .named([]),
    ])
    func cachedScoresEqualTheUncachedPassForEveryStateKind(_ partition: ParameterPartition) throws {
        let learner = learner()
        let model = learner.model
        let base = learner.parameters
        let names = partition.adaptive(base.names)
        let all = (0..<Int32(experiment.dataset.itemCount)).map { $0 }
        let cached = CandidateRanker(
            model: model, parameters: base, items: experiment.features.items, candidates: all, adaptive: Set(names))
        let uncached = CandidateRanker(
            model: model, parameters: base, items: experiment.features.items, candidates: all)
        for (user, seed) in [(Int32(0), UInt64(1)), (Int32(3), 2), (Int32(0), 3)] {
            let fast = adapted(base, names, seed: seed)
            let block = GradientMode.withoutRecording {
                model.userRepresentation(EntityBatch(experiment.features.users, entities: [user]), parameters: fast)
            }
            let reference = GradientMode.withoutRecording {
                model.predict(
                    user: EntityBatch(experiment.features.users, entities: [user]),
                    items: EntityBatch(experiment.features.items, entities: all), parameters: fast
                ).denseValues
            }
            expectClose(
                uncached.scores(userRepresentation: block, parameters: fast), reference, "uncached, \(partition)")
            expectClose(cached.scores(userRepresentation: block, parameters: fast), reference, "cached, \(partition)")
        }
        // An added item extends the cached outputs: the same scores as the uncached ranker's.
        let rows = Array(uncached.itemBlock.prefix(2 * uncached.itemWidth)).map { $0 * 0.5 }
        let cachedMore = cached.appending(candidates: [900, 901], itemRows: rows)
        let uncachedMore = uncached.appending(candidates: [900, 901], itemRows: rows)
        let fast = adapted(base, names, seed: 9)
        let block = GradientMode.withoutRecording {
            model.userRepresentation(EntityBatch(experiment.features.users, entities: [0]), parameters: fast)
        }
        expectClose(
            cachedMore.scores(userRepresentation: block, parameters: fast),
            uncachedMore.scores(userRepresentation: block, parameters: fast), "after adding items, \(partition)")
    }

    @Test func theSharedStageStopsAtTheFirstAdaptiveOperation() {
        let configuration = learner().model.configuration
        let stage = { (partition: ParameterPartition) in
            CandidateRanker.sharedStage(
                configuration, adaptive: Set(partition.adaptive(self.learner().parameters.names)))
        }
        #expect(stage(.lastLayer) == 3, "both hidden layers and their modulation are shared")
        #expect(stage(.named(["modulation.1"])) == 2)
        #expect(stage(.modulation) == 0)
        #expect(stage(.decisionLayers) == nil, "the first layer adapts: only the item block is cached")
        #expect(stage(.named([])) == 4, "nothing adapts: the scores themselves are shared")
    }

    @Test func topSelectionEqualsTheHeadOfAFullSortIncludingTies() {
        var random = SeededGenerator(seed: 5)
        for trial in 0..<40 {
            let n = 1 + trial * 37
            // Few distinct values, so ties are everywhere; one NaN ranks last.
            var scores = (0..<n).map { _ in Float(random.integer(below: 7)) }
            if n > 3 { scores[n / 2] = .nan }
            let skip = RowSet(count: n, members: (0..<n).filter { _ in random.integer(below: 4) == 0 })
            let order = (0..<n).filter { !skip.contains($0) }.sorted {
                let (a, b) = (scores[$0].isNaN ? -.infinity : scores[$0], scores[$1].isNaN ? -.infinity : scores[$1])
                return a > b || (a == b && $0 < $1)
            }
            for count in [0, 1, 5, n / 2, n + 3] {
                let best = TopSelection.best(count, of: scores, skipping: skip)
                #expect(best.map(\.row) == Array(order.prefix(count)), "n \(n), count \(count)")
            }
        }
    }

    @Test func rowSetsCombineAsSets() {
        var set = RowSet(count: 130, members: [0, 63, 64, 129])
        #expect(set.memberCount == 4 && set.contains(63) && set.contains(129) && !set.contains(1))
        set.formUnion(complementOf: RowSet(count: 130, members: 0..<128))
        #expect(set.memberCount == 5, "128 joins; nothing past 129 appears")
        set.append(true)
        set.remove(0)
        #expect(set.count == 131 && set.contains(130) && !set.contains(0))
        #expect(RowSet(count: 70, filled: true).memberCount == 70)
    }

    /// The filters as row sets exclude exactly the hidden, rated, non-candidate and
    /// other-category items, also after an item is added and after hide and show.
    @Test func filtersExcludeExactlyTheRightItems() throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let ids = experiment.dataset.itemIDs
        try recommender.addItem(
            id: "new-1", title: "New", features: experiment.dataset.rawItemFeatures.values(of: 3))
        recommender.setHidden(ids[2], true)
        recommender.setHidden(ids[5], true)
        recommender.setHidden(ids[5], false)
        let genre = BuiltInData.syntheticGenres[0]
        let excluded: Set<String> = [ids[1], ids[7], "not-an-item"]
        let candidates = Array(ids.prefix(40)) + ["new-1"]
        let all = recommender.items(offset: 0, limit: recommender.itemCount).items
        let expected = Set(
            all.filter {
                !$0.hidden && !excluded.contains($0.id) && candidates.contains($0.id) && $0.labels.contains(genre)
            }.map(\.id))
        let served = try recommender.recommend(
            userFeatures: [:], state: nil, count: all.count, excluding: excluded, candidates: candidates,
            category: genre)
        #expect(!expected.isEmpty)
        #expect(Set(served.map(\.id)) == expected && served.count == expected.count)
        let everything = try recommender.recommend(userFeatures: [:], state: nil, count: all.count)
        #expect(Set(everything.map(\.id)) == Set(all.filter { !$0.hidden }.map(\.id)))
        #expect(everything.contains { $0.id == "new-1" } && !everything.contains { $0.id == ids[2] })
        #expect(everything.map(\.score) == everything.map(\.score).sorted(by: >))
    }

    /// The covariance head's questions over the cached Φ and moment are the chooser's, computed
    /// the long way from the head: the same items in the same order, the same reductions.
    @Test func covarianceQuestionsAreTheChoosersAfterHideAndAdd() throws {
        let (head, url) = try ServingFixture.covarianceBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let ids = experiment.dataset.itemIDs
        _ = try recommender.questions(count: 3, excluding: [])  // fills the moment before the change
        recommender.setHidden(ids[4], true)
        let state = try recommender.adapt(userFeatures: [:], feedback: [(ids[1], 5), (ids[2], 1)])
        let asked = try recommender.questions(count: 6, state: state, excluding: [ids[1], ids[2]])

        let k = head.dimension
        let representations = head.itemRepresentations(experiment.features)
        let catalogue = recommender.bundle.description.catalogue
        let popularity = ItemPopularity(
            counts: Dictionary(uniqueKeysWithValues: catalogue.popularity.enumerated().map { (Int32($0), $1) }),
            userCount: catalogue.trainingUsers ?? 1)
        let visible = ids.indices.filter { $0 != 4 }.map(Int32.init)
        let chooser = VarianceReductionChooser(
            priorCovariance: state.values[k...].map(Double.init), noiseVariance: head.noiseVariance,
            representations: representations, catalogue: visible, popularity: popularity)
        let user = NewUserAnswers(features: EntityBatch.unknown(head.users))
        let pool = visible.filter { $0 != 1 && $0 != 2 }
        let chosen = chooser.choose(count: 6, for: user, pool: pool)
        let reductions = chooser.expectedReductions(for: user, pool: chosen)
        #expect(asked.map(\.item.id) == chosen.map { ids[Int($0)] })
        for (question, reduction) in zip(asked, reductions) {
            #expect(abs(question.expectedVarianceReduction! - reduction) <= 1e-9 * max(1, abs(reduction)))
        }
    }
}
