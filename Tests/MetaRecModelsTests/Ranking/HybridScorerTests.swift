import Foundation
import MetaRecCore
import MetaRecData
import Testing

@testable import MetaRecModels

/// The popularity prior, the hybrid's standardised mix and its choice of weights, on hand-made worlds.
@Suite struct HybridScorerTests {
    let features = FeatureContext(users: FeatureTable(count: 10), items: FeatureTable(count: 40))

    func task() -> PreparedTask { PreparedTask(user: 9, support: [], query: [], features: features) }

    func rating(_ user: Int32, _ item: Int32, _ value: Float = 5) -> Interaction {
        Interaction(user: user, item: item, value: value, timestamp: 0)
    }

    /// Warm: item 0 rated 3 times, items 1 and 2 twice; new item 3 once in the scenario's supports,
    /// new item 4 never. Prior = log(1 + count): ln 4, ln 3, ln 3, ln 2, 0.
    @Test func popularityPriorIsLogOnePlusCount() {
        let warm = [
            rating(0, 0), rating(0, 1), rating(1, 0), rating(1, 1, 2), rating(1, 2), rating(2, 2), rating(3, 0),
        ]
        let popularity = Popularity(
            warm: warm, supports: [rating(5, 3)], isNewItem: [false, false, false, true, true])
        let prior = PopularityPrior(popularity).scores(task(), candidates: [0, 1, 2, 3, 4])
        let byHand: [Float] = [1.3862944, 1.0986123, 1.0986123, 0.6931472, 0]
        for (value, expected) in zip(prior, byHand) { #expect(abs(value - expected) < 1e-6) }
    }

    /// [1, 2, 3]: mean 2, variance 2/3, sd 0.816497, so z = [−1.224745, 0, 1.224745]; [3, 1, 2]
    /// gives [1.224745, −1.224745, 0]. Weights (1, 0.5): [−0.612372, −0.612372, 1.224745].
    /// A constant list standardises to zeros.
    @Test func mixesStandardisedScores() {
        struct Fixed: CandidateScorer {
            let name: String
            let values: [Float]
            func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] { values }
        }
        let hybrid = HybridScorer(
            name: "h", components: [Fixed(name: "a", values: [1, 2, 3]), Fixed(name: "b", values: [3, 1, 2])],
            weights: [1, 0.5])
        let mixed = hybrid.scores(task(), candidates: [0, 1, 2])
        for (value, expected) in zip(mixed, [Float(-0.612372), -0.612372, 1.224745]) {
            #expect(abs(value - expected) < 1e-5)
        }
        #expect(HybridScorer.standardised([4, 4, 4]) == [0, 0, 0])
    }

    /// Scorer "ascending" ranks item 29 first, "descending" item 0; the even mix is all zeros, so
    /// it keeps the given order 0 … 29. With 30 candidates, validation tasks whose liked item is 29
    /// choose (1, 0): recall@20 1, 0 and 0 for (1, 0), (0, 1) and the mix. Liked item 0: 0, 1 and 1,
    /// and the tie goes to the earlier entry, (0, 1).
    @Test func weightsFollowTheValidationTasks() {
        struct ByID: CandidateScorer {
            let name: String
            let sign: Float
            func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] { candidates.map { sign * Float($0) } }
        }
        let components: [CandidateScorer] = [ByID(name: "ascending", sign: 1), ByID(name: "descending", sign: -1)]
        let items = (0..<30).map(Int32.init)
        func tasks(liked: Int32) -> FullRankingTasks {
            FullRankingTasks(
                tasks: [task(), task()], candidates: [items, items],
                relevant: Array(repeating: items.map { $0 == liked }, count: 2))
        }
        let grid: [[Float]] = [[1, 0], [0, 1], [0.5, 0.5]]
        let high = HybridScorer.choose(
            name: "h", components: components, grid: grid, validation: tasks(liked: 29), threads: 1)
        #expect(high.scorer.weights == [1, 0])
        #expect(high.validationRecall == [1, 0, 0])
        let low = HybridScorer.choose(
            name: "h", components: components, grid: grid, validation: tasks(liked: 0), threads: 1)
        #expect(low.scorer.weights == [0, 1])
        #expect(low.validationRecall == [0, 1, 1])
    }
}
