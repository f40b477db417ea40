import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// The model bundle and the ``Recommender`` built on it: the same scores as the model in
/// memory after a round trip through the file, new items from features, filters, bad input.
@Suite struct RecommenderTests {
    let experiment = ServingFixture.experiment

    /// The catalogue item ids and the feedback a known user gives (ids, values).
    func feedback(_ rows: [(Int32, Float)]) -> [(item: String, value: Float)] {
        rows.map { (experiment.dataset.itemIDs[Int($0.0)], $0.1) }
    }

    @Test func bundleRoundTripGivesTheScoresOfTheModelInMemory() throws {
        let (learner, _, url) = try ServingFixture.metaLearnerBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let user: Int32 = 5
        let rated: [(Int32, Float)] = [(0, 5), (3, 1), (7, 4)]
        let support = rated.enumerated().map { Interaction(user: user, item: $1.0, value: $1.1, timestamp: Int64($0)) }
        let query = (0..<Int32(experiment.dataset.itemCount)).map {
            Interaction(user: user, item: $0, value: 0, timestamp: 0)
        }
        let expected = learner.predict(
            PreparedTask(user: user, support: support, query: query, features: experiment.features))

        // The user's raw features go through the bundle's own encoders.
        let features = experiment.dataset.rawUserFeatures.values(of: Int(user))
        #expect(!features.isEmpty)
        let state = try recommender.adapt(userFeatures: features, feedback: feedback(rated))
        #expect(state.values.count == recommender.adaptedStateSize)
        #expect(state.values.count == 2 * 16, "modulation partition: a scale and a shift per hidden unit")
        let ranked = try recommender.recommend(userFeatures: features, state: state, count: query.count)
        #expect(ranked.count == query.count)
        let byID = Dictionary(uniqueKeysWithValues: ranked.map { ($0.id, $0.score) })
        let scale = recommender.bundle.description.feedback
        for (index, id) in experiment.dataset.itemIDs.enumerated() {
            #expect(
                abs(byID[id]! - min(max(expected[index], scale.minimum), scale.maximum)) < 1e-4,
                "item \(id), clipped to the scale")
        }
        #expect(ranked.map(\.score) == ranked.map(\.score).sorted(by: >))
        // Adaptation moved the scores away from the prior's.
        let prior = try recommender.recommend(userFeatures: features, state: nil, count: query.count)
        #expect(Dictionary(uniqueKeysWithValues: prior.map { ($0.id, $0.score) }) != byID)
    }

    @Test func covarianceBundleGivesTheExactPosteriorAndItsSpread() throws {
        let (head, url) = try ServingFixture.covarianceBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        #expect(recommender.hasUncertainty)
        let rated: [(Int32, Float)] = [(1, 5), (2, 2)]
        let support = rated.enumerated().map { Interaction(user: 0, item: $1.0, value: $1.1, timestamp: Int64($0)) }
        let query = (0..<Int32(experiment.dataset.itemCount)).map {
            Interaction(user: 0, item: $0, value: 0, timestamp: 0)
        }
        let task = PreparedTask(
            userBatch: EntityBatch.unknown(head.users), support: support, query: query, features: experiment.features)
        let (means, variances) = head.predictWithUncertainty(task)
        let state = try recommender.adapt(userFeatures: [:], feedback: feedback(rated))
        let ranked = try recommender.recommend(userFeatures: [:], state: state, count: query.count, excluding: [])
        for item in ranked {
            let index = experiment.dataset.itemIDs.firstIndex(of: item.id)!
            let scale = recommender.bundle.description.feedback
            #expect(abs(item.score - min(max(means[index], scale.minimum), scale.maximum)) < 1e-4)
            #expect(abs(item.standardDeviation! - variances[index].squareRoot()) < 1e-4)
        }
    }

    @Test func anOldLayoutModelIsRefusedWithTheWayToRetrain() throws {
        let (learner, _, _) = try ServingFixture.metaLearnerBundle()
        let url = ServingFixture.temporaryDirectory().appendingPathComponent("old.safetensors")
        try ModelArchive(learner, data: ServingFixture.description).write(to: url)
        #expect { try ModelBundle(contentsOf: url) } throws: { error in
            "\(error)".contains("old layout") && "\(error)".contains("metarec train")
        }
    }

    /// A new item is ranked from its features alone: feature embeddings plus the generator's
    /// id embedding, exactly the model's forward pass on that representation.
    @Test func aNewItemIsRankedFromItsFeaturesAlone() throws {
        let (learner, generator, url) = try ServingFixture.metaLearnerBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let source = 2
        let features = experiment.dataset.rawItemFeatures.values(of: source)
        let item = try recommender.addItem(id: "new-1", title: "A new film", features: features)
        #expect(item.addedAt != nil && recommender.item("new-1")?.title == "A new film")

        let model = learner.model
        let expected = GradientMode.withoutRecording { () -> Float in
            let block = model.itemFeatureRepresentation(
                EntityBatch(experiment.features.items, entities: [Int32(source)]), parameters: learner.parameters)
            let generated = generator!.generate(block)
            let user = model.userRepresentation(EntityBatch.unknown(model.users), parameters: learner.parameters)
            return model.decide(
                model.representation(userPart: user, itemFeatures: block, itemIDEmbedding: generated),
                parameters: learner.parameters
            ).scalar
        }
        let ranked = try recommender.recommend(userFeatures: [:], state: nil, count: 5, candidates: ["new-1"])
        #expect(ranked.map(\.id) == ["new-1"])
        #expect(abs(ranked[0].score - expected) < 1e-4)
        // It competes with the whole catalogue.
        let all = try recommender.recommend(userFeatures: [:], state: nil, count: recommender.itemCount)
        #expect(all.contains { $0.id == "new-1" })
        #expect(throws: RecommenderError.self) { try recommender.addItem(id: "new-1", title: "again", features: [:]) }
    }

    @Test func filtersHiddenSeenCandidatesAndCategories() throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let ids = experiment.dataset.itemIDs
        let top = try recommender.recommend(userFeatures: [:], state: nil, count: 3)
        recommender.setHidden(top[0].id, true)
        let next = try recommender.recommend(userFeatures: [:], state: nil, count: 3, excluding: [top[1].id])
        #expect(!next.contains { $0.id == top[0].id || $0.id == top[1].id })
        #expect(
            try recommender.recommend(userFeatures: [:], state: nil, count: 10, candidates: [ids[4], ids[9]]).map(\.id)
                .sorted() == [ids[4], ids[9]].sorted())
        let genre = BuiltInData.syntheticGenres[0]
        for item in try recommender.recommend(userFeatures: [:], state: nil, count: 20, category: genre) {
            #expect(
                recommender.item(item.id)!.features["genres"] == .texts([genre])
                    || {
                        if case .texts(let all)? = recommender.item(item.id)!.features["genres"] {
                            return all.contains(genre)
                        } else {
                            return false
                        }
                    }())
        }
        let questions = try recommender.questions(count: 4, excluding: [ids[0]]).map(\.item)
        #expect(questions.count == 4 && !questions.contains { $0.id == ids[0] || $0.hidden })
        #expect(
            questions.map(\.popularity) == questions.map(\.popularity).sorted(by: >),
            "a network model asks popular items first")
    }

    /// The covariance bundle asks what the head's posterior says is most informative, and an
    /// answer moves the next questions (the same chooser the onboarding study measures).
    @Test func covarianceBundleAsksByExpectedVarianceReduction() throws {
        let (head, url) = try ServingFixture.covarianceBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let questions = try recommender.questions(count: 5, excluding: [])
        #expect(questions.count == 5 && questions.allSatisfy { $0.expectedVarianceReduction != nil })
        // The first question is the best single question under the prior, computed directly.
        let items = (0..<Int32(experiment.dataset.itemCount)).map { $0 }
        let popularity = ItemPopularity(training: experiment.split.warmInteractions)
        let chooser = VarianceReductionChooser(head: head, features: experiment.features, popularity: popularity)
        let reductions = chooser.expectedReductions(
            for: NewUserAnswers(features: EntityBatch.unknown(head.users)), pool: items)
        let best = items.max { reductions[Int($0)] < reductions[Int($1)] }!
        #expect(questions[0].item.id == experiment.dataset.itemIDs[Int(best)])
        // Once that item is answered, the next choice differs.
        let state = try recommender.adapt(userFeatures: [:], feedback: [(questions[0].item.id, 4)])
        let after = try recommender.questions(count: 1, state: state, excluding: [questions[0].item.id])
        #expect(after[0].item.id != questions[0].item.id)
        #expect(after[0].expectedVarianceReduction! <= questions[0].expectedVarianceReduction! + 1e-9)
    }

    @Test func badInputNamesTheFieldOrItem() throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        #expect { try recommender.userBatch(["shoe-size": .number(42)]) } throws: { "\($0)".contains("shoe-size") }
        #expect { try recommender.userBatch(["age": .text("old")]) } throws: {
            "\($0)".contains("age") && "\($0)".contains("number")
        }
        #expect { try recommender.userBatch(["gender": .texts(["F", "M"])]) } throws: { "\($0)".contains("gender") }
        #expect { try recommender.adapt(userFeatures: [:], feedback: [("no-such-item", 4)]) } throws: { error in
            (error as? RecommenderError)?.kind == .unknownItem && "\(error)".contains("no-such-item")
        }
        #expect { try recommender.addItem(id: "x", title: "x", features: ["year": .text("soon")]) } throws: {
            "\($0)".contains("year")
        }
    }

    @Test func feedbackOffTheScaleIsRefusedAndScoresStayOnIt() throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let scale = recommender.bundle.description.feedback
        #expect {
            _ = try recommender.adapt(userFeatures: [:], feedback: feedback([(0, scale.maximum * 20)]))
        } throws: { error in
            "\(error)".contains("expected a rating from") && "\(error)".contains(experiment.dataset.itemIDs[0])
        }
        let state = try recommender.adapt(
            userFeatures: [:], feedback: feedback([(0, scale.maximum), (1, scale.maximum)]))
        let ranked = try recommender.recommend(userFeatures: [:], state: state, count: 50)
        #expect(ranked.allSatisfy { $0.score >= scale.minimum && $0.score <= scale.maximum })
    }
}
