import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite struct QuestionChooserTests {
    let world = SmallWorld.shared
    let noOne = NewUserAnswers(features: EntityBatch(rows: 1, lists: [], dense: [], ids: IndexLists([[0]])))

    /// Σ = diag(2, 0.5), σ² = 1, items φ₀ = (1, 1), φ₁ = (0, 1), catalogue = both.
    /// Asking about item 0: a = Σφ₀ = (2, 0.5), σ² + φ₀ᵀa = 3.5; the predictive variances drop
    /// by (φ_cᵀa)²/3.5 = 6.25/3.5 and 0.25/3.5, mean 3.25/3.5. Item 1: a = (0, 0.5), 1.5;
    /// drops 0.25/1.5 each, mean 0.25/1.5. So item 0 reduces the variance most.
    func twoItems(popularity: ItemPopularity?) -> VarianceReductionChooser {
        VarianceReductionChooser(
            priorCovariance: [2, 0, 0, 0.5], noiseVariance: 1,
            representations: [[1, 1], [0, 1]], popularity: popularity)
    }

    @Test func choosesTheItemThatReducesVarianceMostOnTwoItems() {
        let chooser = twoItems(popularity: nil)
        let reductions = chooser.expectedReductions(for: noOne, pool: [0, 1])
        #expect(abs(reductions[0] - 3.25 / 3.5) < 1e-12)
        #expect(abs(reductions[1] - 0.25 / 1.5) < 1e-12)
        #expect(chooser.choose(count: 1, for: noOne, pool: [1, 0]) == [0])
        #expect(chooser.choose(count: 5, for: noOne, pool: [1, 0, 1]) == [0, 1])
    }

    /// Item 0 is known by 1 of 10 warm users, item 1 by all: 0.1 · 3.25/3.5 < 0.25/1.5.
    @Test func popularityWeighsTheReductionByTheChanceTheUserKnowsTheItem() {
        var ratings = (0..<10).map { Interaction(user: Int32($0), item: 1, value: 4, timestamp: 0) }
        ratings.append(Interaction(user: 0, item: 0, value: 5, timestamp: 0))
        let popularity = ItemPopularity(training: ratings)
        #expect(popularity.knownProbability(0) == 0.1 && popularity.knownProbability(1) == 1)
        let chooser = twoItems(popularity: popularity)
        let reductions = chooser.expectedReductions(for: noOne, pool: [0, 1])
        #expect(abs(reductions[0] - 0.1 * 3.25 / 3.5) < 1e-12)
        #expect(chooser.choose(count: 1, for: noOne, pool: [0, 1]) == [1])
    }

    /// After an answer about item 0, S = (Σ⁻¹ + φ₀φ₀ᵀ/σ²)⁻¹ = [[1.5, 1], [1, 3]]⁻¹
    /// = [[3, −1], [−1, 1.5]] / 3.5; item 0 is not asked again.
    @Test func answersUpdateTheCovarianceBeforeTheNextChoice() {
        let chooser = twoItems(popularity: nil)
        var user = noOne
        user.answers = [Interaction(user: 0, item: 0, value: 5, timestamp: 0)]
        let covariance = chooser.posteriorCovariance(after: user.answers)
        let expected = [3 / 3.5, -1 / 3.5, -1 / 3.5, 1.5 / 3.5]
        for i in 0..<4 { #expect(abs(covariance[i] - expected[i]) < 1e-12) }
        #expect(chooser.choose(count: 2, for: user, pool: [0, 1]) == [1])
        #expect(chooser.expectedReductions(for: user, pool: [0])[0] == 0)
    }

    /// On a real (untrained) head the expected reduction of each candidate is the drop in mean
    /// predictive variance that `predictWithUncertainty` shows when the item joins the support.
    @Test func expectedReductionMatchesTheHeadsPosterior() throws {
        var configuration = CovarianceHead.Configuration()
        configuration.representationSize = 4
        let head = CovarianceHead(
            configuration: configuration, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures), noiseVariance: 0.8)
        let task = try #require(world.split.tasks(.userCold).first { $0.support.count >= 4 })
        let catalogue = task.query.map(\.item)
        let chooser = VarianceReductionChooser(
            head: head, features: world.features, catalogue: catalogue, popularity: nil)
        let answered = Array(task.support.prefix(1))
        let pool = task.support.dropFirst().prefix(3).map(\.item)
        let user = NewUserAnswers(features: EntityBatch(world.features.users, entities: [task.user]), answers: answered)
        func meanVariance(_ support: [Interaction]) -> Double {
            let prepared = PreparedTask(user: task.user, support: support, query: task.query, features: world.features)
            let variances = head.predictWithUncertainty(prepared).variances
            return variances.reduce(0.0) { $0 + Double($1) } / Double(variances.count)
        }
        let before = meanVariance(answered)
        let expected = chooser.expectedReductions(for: user, pool: pool)
        for (index, item) in pool.enumerated() {
            let after = meanVariance(answered + [Interaction(user: task.user, item: item, value: 3, timestamp: 0)])
            #expect(
                abs((before - after) - expected[index]) < 1e-4 * max(1, before),
                "item \(item): \(before - after) vs \(expected[index])")
        }
        let best = pool[expected.indices.max { expected[$0] < expected[$1] }!]
        #expect(chooser.choose(count: 1, for: user, pool: pool) == [best])
    }

    @Test func baselinesOrderByTheirScoresAndSkipAnsweredItems() {
        // Item 2: 3 ratings all 4 (entropy 0); item 1: 2 ratings 1 and 5 (entropy log 2); item 0: 1 rating.
        let ratings = [
            Interaction(user: 0, item: 2, value: 4, timestamp: 0),
            Interaction(user: 1, item: 2, value: 4, timestamp: 0),
            Interaction(user: 2, item: 2, value: 4, timestamp: 0),
            Interaction(user: 0, item: 1, value: 1, timestamp: 0),
            Interaction(user: 1, item: 1, value: 5, timestamp: 0),
            Interaction(user: 2, item: 0, value: 3, timestamp: 0),
        ]
        let popularity = ItemPopularity(training: ratings)
        #expect(abs(popularity.entropies[1]! - Foundation.log(2)) < 1e-12 && popularity.entropies[2]! == 0)
        #expect(
            PopularFirstChooser(popularity: popularity).choose(count: 3, for: noOne, pool: [0, 1, 2]) == [2, 1, 0])
        #expect(PopularityEntropyChooser(popularity: popularity).choose(count: 1, for: noOne, pool: [0, 1, 2]) == [1])
        // Evidence: gradient 1, 0.1, 0.5 scaled by max; popularity 1/3, 2/3, 1 → 0.333, 0.067, 0.5.
        let evidence = EvidenceChooser(popularity: popularity, gradientSizes: [0: 1, 1: 0.1, 2: 0.5])
        #expect(evidence.choose(count: 3, for: noOne, pool: [0, 1, 2]) == [2, 0, 1])
        var user = noOne
        user.answers = [Interaction(user: 0, item: 2, value: 4, timestamp: 0)]
        #expect(PopularFirstChooser(popularity: popularity).choose(count: 3, for: user, pool: [0, 1, 2]) == [1, 0])
        #expect(EarliestRatedChooser().choose(count: 2, for: user, pool: [2, 0, 1]) == [0, 1])
        let random = RandomChooser(seed: 1).choose(count: 10, for: user, pool: [0, 1, 2, 3, 4, 2])
        #expect(Set(random) == [0, 1, 3, 4] && random.count == 4)
        #expect(RandomChooser(seed: 1).choose(count: 10, for: user, pool: [0, 1, 2, 3, 4]) == random)
    }
}
