import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite struct RecommenderExplorationTests {
    let experiment = ServingFixture.experiment

    func feedback(_ rated: [(Int32, Float)]) -> [(item: String, value: Float)] {
        rated.map { (experiment.dataset.itemIDs[Int($0.0)], $0.1) }
    }

    /// UCB ranks by clipped mean + strength × the epistemic sd (the predictive variance less
    /// σ²), worked out from the head's own posterior; the returned score stays the mean.
    @Test func upperConfidenceRanksByMeanPlusTheBonus() throws {
        let (head, url) = try ServingFixture.covarianceBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let rated: [(Int32, Float)] = [(1, 5), (2, 2), (7, 4)]
        let support = rated.enumerated().map { Interaction(user: 0, item: $1.0, value: $1.1, timestamp: Int64($0)) }
        let count = experiment.dataset.itemCount
        let query = (0..<Int32(count)).map { Interaction(user: 0, item: $0, value: 0, timestamp: 0) }
        let task = PreparedTask(
            userBatch: EntityBatch.unknown(head.users), support: support, query: query, features: experiment.features)
        let (means, variances) = head.predictWithUncertainty(task)
        let scale = recommender.bundle.description.feedback
        let bonus = (0..<count).map { index in
            Double(min(max(means[index], scale.minimum), scale.maximum))
                + 2 * max(Double(variances[index]) - head.noiseVariance, 0).squareRoot()
        }
        let state = try recommender.adapt(userFeatures: [:], feedback: feedback(rated))
        let ranked = try recommender.recommend(
            userFeatures: [:], state: state, count: count, excluding: [],
            exploration: .upperConfidence(strength: 2))
        let expected = (0..<count).sorted { bonus[$0] > bonus[$1] }
        let index = { (id: String) in self.experiment.dataset.itemIDs.firstIndex(of: id)! }
        #expect(abs(bonus[index(ranked[0].id)] - bonus[expected[0]]) < 1e-3)
        for pair in zip(ranked, ranked.dropFirst()) {
            #expect(bonus[index(pair.0.id)] >= bonus[index(pair.1.id)] - 1e-3)
        }
        for item in ranked {
            #expect(abs(item.score - min(max(means[index(item.id)], scale.minimum), scale.maximum)) < 1e-4)
        }
        let greedy = try recommender.recommend(userFeatures: [:], state: state, count: count, excluding: [])
        #expect(greedy.map(\.id) != ranked.map(\.id), "the bonus changed the order")
    }

    @Test func thompsonIsSeededAndAtStrengthZeroGreedy() throws {
        let (_, url) = try ServingFixture.covarianceBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let state = try recommender.adapt(userFeatures: [:], feedback: feedback([(3, 4), (4, 1)]))
        func top(_ policy: ExplorationPolicy, seed: UInt64) throws -> [String] {
            try recommender.recommend(
                userFeatures: [:], state: state, count: 20, exploration: policy, explorationSeed: seed
            ).map(\.id)
        }
        let greedy = try top(.greedy, seed: 0)
        #expect(try top(.thompson(strength: 0), seed: 5) == greedy)
        #expect(try top(.thompson(strength: 1), seed: 5) == top(.thompson(strength: 1), seed: 5))
        #expect(try top(.thompson(strength: 3), seed: 5) != greedy)
    }

    @Test func modelsWithoutUncertaintyRefuseExplorationSayingWhy() throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        _ = try recommender.recommend(userFeatures: [:], state: nil, count: 5, exploration: .greedy)
        do {
            _ = try recommender.recommend(userFeatures: [:], state: nil, count: 5, exploration: .thompson(strength: 1))
            Issue.record("a meta-learner explored")
        } catch let error as RecommenderError {
            #expect(error.kind == .invalid && error.description.contains("covariance head"))
        }
    }
}
