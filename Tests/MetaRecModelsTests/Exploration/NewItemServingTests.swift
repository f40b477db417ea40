import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// Items added while serving get the item-side posterior when the bundle holds Ψ.
@Suite struct NewItemServingTests {
    let experiment = ServingFixture.experiment

    func feedback(_ rated: [(Int32, Float)]) -> [(item: String, value: Float)] {
        rated.map { (experiment.dataset.itemIDs[Int($0.0)], $0.1) }
    }

    func bundleWithPrior() throws -> (CovarianceHead, NewItemPrior, URL) {
        try ServingFixture.covarianceBundleWithNewItemPrior()
    }

    @Test func aBundleRoundTripKeepsTheNewItemPrior() throws {
        let (head, psi, url) = try bundleWithPrior()
        let read = try #require(try ModelBundle(contentsOf: url).archive.newItemPrior)
        #expect(read.items == psi.items && read.noiseVariance == head.noiseVariance)
        #expect(read.covariance.count == psi.covariance.count)
        for (stored, original) in zip(read.covariance, psi.covariance) {
            #expect(stored == Double(Float(original)), "stored as float32 in the safetensors file")
        }
    }

    /// An old bundle (no Ψ) loads and serves added items as before: the user's side only.
    @Test func aBundleWithoutThePriorServesAddedItemsThroughTheUserAlone() throws {
        let (head, url) = try ServingFixture.covarianceBundle()
        let bundle = try ModelBundle(contentsOf: url)
        #expect(bundle.archive.newItemPrior == nil)
        let recommender = try Recommender(bundle: bundle)
        try recommender.addItem(id: "new-1", title: "new", features: experiment.dataset.rawItemFeatures.values(of: 2))
        let state = try recommender.adapt(userFeatures: [:], feedback: feedback([(1, 5), (4, 2)]))
        let before = try recommender.recommend(userFeatures: [:], state: state, count: 1, candidates: ["new-1"])
        #expect(try recommender.observeNewItems(userFeatures: [:], state: state, feedback: [("new-1", 5)]) == 0)
        let after = try recommender.recommend(userFeatures: [:], state: state, count: 1, candidates: ["new-1"])
        #expect(before == after)
        // Warm item 2 has the same features and a zero id embedding: the same φ, the same sd.
        let warm = try recommender.recommend(
            userFeatures: [:], state: state, count: 1, candidates: [experiment.dataset.itemIDs[2]])
        #expect(abs(warm[0].standardDeviation! - before[0].standardDeviation!) < 1e-5)
        #expect(head.noiseVariance > 0)
    }

    /// Feedback that agrees with an added item's mean leaves its correction at zero and
    /// shrinks its posterior, so the predictive sd shrinks (the item-side terms mᵀPm + tr(PS));
    /// feedback far from it moves the mean toward the feedback.
    @Test func feedbackOnAnAddedItemNarrowsItsPosteriorAndMovesItsMean() throws {
        let (_, _, url) = try bundleWithPrior()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let scale = recommender.bundle.description.feedback
        let features = experiment.dataset.rawItemFeatures.values(of: 2)
        try recommender.addItem(id: "agreed", title: "agreed", features: features)
        try recommender.addItem(id: "surprising", title: "surprising", features: features)
        let user = try recommender.adapt(userFeatures: [:], feedback: feedback([(1, 5), (4, 2)]))
        func scored(_ id: String) throws -> Recommender.Scored {
            try recommender.recommend(userFeatures: [:], state: user, count: 1, candidates: [id])[0]
        }
        let before = try scored("agreed")
        try #require(before.score > scale.minimum && before.score < scale.maximum, "an unclipped mean")
        for _ in 0..<3 {
            #expect(
                try recommender.observeNewItems(userFeatures: [:], state: user, feedback: [("agreed", before.score)])
                    == 1)
        }
        let agreed = try scored("agreed")
        #expect(abs(agreed.score - before.score) < 1e-4)
        #expect(agreed.standardDeviation! < before.standardDeviation! - 1e-4)

        // Rated at the end of the scale farther from its mean, by three users.
        let target = scale.maximum - before.score > before.score - scale.minimum ? scale.maximum : scale.minimum
        let raters = [
            user, try recommender.adapt(userFeatures: [:], feedback: feedback([(3, 4), (7, 5)])),
            try recommender.adapt(userFeatures: [:], feedback: feedback([(5, 1), (6, 3)])),
        ]
        for state in raters {
            try recommender.observeNewItems(userFeatures: [:], state: state, feedback: [("surprising", target)])
        }
        #expect(abs(try scored("surprising").score - target) < abs(before.score - target))
        // Feedback on training items is not an item posterior's; values off the scale are refused.
        #expect(try recommender.observeNewItems(userFeatures: [:], state: user, feedback: feedback([(2, 5)])) == 0)
        #expect(throws: RecommenderError.self) {
            try recommender.observeNewItems(userFeatures: [:], state: user, feedback: [("agreed", scale.maximum + 1)])
        }
    }

    /// A fresh added item and a warm item with the same φ have the same mean; the added item's
    /// correction adds mᵀΨm + tr(ΨS) to its variance, so UCB ranks it first.
    @Test func upperConfidenceRanksAFreshAddedItemAboveAnEquallyScoredWarmOne() throws {
        let (_, _, url) = try bundleWithPrior()
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let warm = experiment.dataset.itemIDs[2]
        try recommender.addItem(id: "new-1", title: "new", features: experiment.dataset.rawItemFeatures.values(of: 2))
        let state = try recommender.adapt(userFeatures: [:], feedback: feedback([(1, 5), (4, 2)]))
        let pool = [warm, "new-1"]
        let greedy = try recommender.recommend(userFeatures: [:], state: state, count: 2, candidates: pool)
        #expect(abs(greedy[0].score - greedy[1].score) < 1e-5, "same φ, no feedback yet: the same mean")
        let sd = Dictionary(uniqueKeysWithValues: greedy.map { ($0.id, $0.standardDeviation!) })
        #expect(sd["new-1"]! > sd[warm]! + 1e-4)
        let ucb = try recommender.recommend(
            userFeatures: [:], state: state, count: 2, candidates: pool, exploration: .upperConfidence(strength: 1))
        #expect(ucb.map(\.id) == ["new-1", warm])
        #expect(abs(ucb[0].score - greedy[0].score) < 1e-5, "the returned score stays the mean")
    }
}
