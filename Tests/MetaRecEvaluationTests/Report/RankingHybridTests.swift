import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import Testing

@testable import MetaRecEvaluation

/// The ranking hybrid is chosen on validation users only: changing the test users' ratings changes
/// the test tasks but not the method or the weights chosen.
@Suite(.serialized) struct RankingHybridTests {
    /// An adaptive method stand-in: a fixed pseudo-random score per item.
    struct Hashed: ColdStartPredictor {
        let name: String
        let multiplier: Int32
        func predict(_ task: PreparedTask) -> [Float] { task.queryItemIDs.map { Float(($0 &* multiplier) % 97) } }
    }

    @Test func testUsersDoNotMoveTheChoice() throws {
        // Dense enough that validation users meet enough new items for item-cold validation tasks.
        let data = BuiltInData.synthetic(seed: 2, users: 200, items: 100, targetInteractions: 16_000).dataset
        let original = try Experiment(dataset: data, seed: 0, threads: 2)
        #expect(!original.split.tasks(.itemColdValidation).isEmpty)
        let testUsers = Set(
            (original.split.tasks(.userCold) + original.split.tasks(.bothCold)).map(\.user))
        #expect(!testUsers.isEmpty)
        // Every rating of a new test user turned around (r → 6 − r): their tasks change, nothing else.
        var changed = data
        changed.interactions = data.interactions.map { rating in
            guard testUsers.contains(rating.user) else { return rating }
            var copy = rating
            copy.value = 6 - rating.value
            return copy
        }
        let modified = try Experiment(dataset: changed, seed: 0, threads: 2)
        let before = original.split.tasks(.userCold)
        let after = modified.split.tasks(.userCold)
        #expect(before.map(\.user) == after.map(\.user))
        #expect(before.map { $0.query.map(\.value) } != after.map { $0.query.map(\.value) })

        let methods: [ColdStartPredictor] = [Hashed(name: "a", multiplier: 31), Hashed(name: "b", multiplier: 57)]
        func choose(_ experiment: Experiment) -> RankingHybridChoice {
            experiment.chooseRankingHybrid(
                methods: methods, baselines: experiment.fitRankingBaselines(),
                candidates: experiment.rankingCandidates())
        }
        let first = choose(original)
        let second = choose(modified)
        let sides = [(first.existingItems, second.existingItems), (first.newItems, second.newItems)]
        for (a, b) in sides {
            let left = try #require(a)
            let right = try #require(b)
            #expect(left.method.name == right.method.name)
            #expect(left.weights == right.weights)
            #expect(left.hybridRecall == right.hybridRecall)
        }
        #expect(first.summary.contains("Hybrid chosen on validation users"))
    }
}
