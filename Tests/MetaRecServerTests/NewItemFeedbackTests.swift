import Foundation
import MetaRecModels
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// Feedback on an item added while serving updates that item's posterior, so it changes the
/// item's score and spread for every user, not only the one who gave it.
@Suite struct NewItemFeedbackTests {
    @Test func anotherUsersFeedbackOnAnAddedItemMovesItForEveryone() async throws {
        let (_, _, url) = try ServingFixture.covarianceBundleWithNewItemPrior()
        let path = ServingFixture.temporaryDirectory().appendingPathComponent("store.sqlite").path
        let service = try await RecommendationService(
            recommender: Recommender(bundle: ModelBundle(contentsOf: url)), store: SQLiteStore(path: path))
        let experiment = ServingFixture.experiment
        _ = try await service.addItem(
            id: "new-1", title: "new", features: experiment.dataset.rawItemFeatures.values(of: 2))
        let ids = experiment.dataset.itemIDs
        try await service.addFeedback([
            StoredFeedback(user: "ann", item: ids[1], value: 5, timestamp: Date()),
            StoredFeedback(user: "ann", item: ids[4], value: 2, timestamp: Date()),
        ])
        func annSees() async throws -> Recommender.Scored {
            try await service.recommendations(
                user: "ann", count: 1, includeSeen: true, candidates: ["new-1"], category: nil)[0]
        }
        let before = try await annSees()
        try await service.addFeedback(
            (0..<3).map { StoredFeedback(user: "bob\($0)", item: "new-1", value: 5, timestamp: Date()) })
        let after = try await annSees()
        #expect(after.score > before.score + 1e-3, "bob's 5s raised the item for ann")
        #expect(after.standardDeviation != before.standardDeviation)
    }
}
