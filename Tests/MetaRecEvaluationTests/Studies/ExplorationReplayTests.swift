import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import Testing

@testable import MetaRecEvaluation

/// A planted linear world: users' weights known, each new item's true correction drawn from
/// the prior, ratings r = (φ + δ)ᵀw + noise on a random subset of pairs.
func plantedReplayWorld(seed: UInt64 = 0, users: Int = 60, items: Int = 30, perUser: Int = 12)
    -> ExplorationReplayWorld
{
    var random = SeededGenerator(seed: seed)
    let prior = NewItemPrior(covariance: [0.6, 0, 0, 0.05], noiseVariance: 0.09)
    var weights: [Int32: UserWeights] = [:]
    for user in 0..<users {
        weights[Int32(user)] = UserWeights(
            mean: [Double(random.normal()), 3.4 + 0.1 * Double(random.normal())], covariance: [0.01, 0, 0, 0.001])
    }
    var beliefs: [Int32: NewItemBelief] = [:]
    var truth: [Int32: [Double]] = [:]
    for item in 0..<items {
        let phi = [0.5 * Double(random.normal()), 1]
        beliefs[Int32(item)] = try! NewItemBelief(representation: phi, prior: prior)
        truth[Int32(item)] = [
            phi[0] + 0.6.squareRoot() * Double(random.normal()), 1 + 0.05.squareRoot() * Double(random.normal()),
        ]
    }
    var logged: [Interaction] = []
    for user in 0..<users {
        for (slot, item) in random.sample(perUser, from: items).enumerated() {
            let w = weights[Int32(user)]!.mean
            let v = truth[Int32(item)]!
            let rating = v[0] * w[0] + v[1] * w[1] + 0.3 * Double(random.normal())
            logged.append(
                Interaction(
                    user: Int32(user), item: Int32(item), value: Float(rating), timestamp: Int64(user * 100 + slot)))
        }
    }
    return ExplorationReplayWorld(users: weights, items: beliefs, logged: logged, referenceMAE: 0.35)
}

@Suite struct ExplorationReplayTests {
    let world = plantedReplayWorld()
    let options = ExplorationReplayOptions(rounds: 3, itemsPerRound: 2, minimumHeldOut: 5, strengths: [0, 1, 2])

    @Test func figuresKeepTheirInvariants() {
        for policy in options.policies {
            let row = ExplorationReplay.run(policy, world: world, options: options)
            // Every user has 12 logged items, more than 3 rounds × 2: each sees exactly 6.
            #expect(row.impressions == 60 * 6, "\(policy)")
            #expect(row.impressions + row.unshownRatings == world.logged.count)
            #expect(row.regretByRound.count == 3)
            #expect(row.regretByRound.allSatisfy { $0 >= -1e-9 }, "\(policy): \(row.regretByRound)")
            #expect(row.itemsReached <= row.itemsEvaluated && row.itemsEvaluated == 30)
            if let mean = row.meanImpressionsToReach { #expect(mean >= 0) }
            #expect(row.finalMAE.isFinite && row.finalMAE > 0)
        }
    }

    @Test func greedyIsDeterministicAndThompsonAtZeroIsGreedy() {
        let greedy = ExplorationReplay.run(.greedy, world: world, options: options)
        #expect(ExplorationReplay.run(.greedy, world: world, options: options) == greedy)
        var zero = ExplorationReplay.run(.thompson(strength: 0), world: world, options: options)
        zero.policy = greedy.policy
        #expect(zero == greedy)
        // Exploration shows other pairs.
        #expect(ExplorationReplay.run(.thompson(strength: 2), world: world, options: options) != greedy)
    }

    /// One user, three logged items rated 5, 1 and 3, the model preferring the one rated 1:
    /// greedy shows it first (regret 5 − 1 = 4), then the one rated 3 (best two 8, shown 4: regret 4).
    @Test func regretIsAgainstTheBestItemsOfTheSameCount() throws {
        let prior = NewItemPrior(covariance: [1e-6], noiseVariance: 1)
        let user = UserWeights(mean: [1], covariance: [0])
        let items: [Int32: NewItemBelief] = [
            0: try NewItemBelief(representation: [2], prior: prior),
            1: try NewItemBelief(representation: [4], prior: prior),
            2: try NewItemBelief(representation: [3], prior: prior),
        ]
        let logged = [
            Interaction(user: 7, item: 0, value: 5, timestamp: 0),
            Interaction(user: 7, item: 1, value: 1, timestamp: 1),
            Interaction(user: 7, item: 2, value: 3, timestamp: 2),
        ]
        let tiny = ExplorationReplayWorld(users: [7: user], items: items, logged: logged, referenceMAE: 0.5)
        let row = ExplorationReplay.run(
            .greedy, world: tiny, options: ExplorationReplayOptions(rounds: 2, itemsPerRound: 1, minimumHeldOut: 1))
        #expect(row.regretByRound.count == 2)
        #expect(abs(row.regretByRound[0] - 4) < 1e-9 && abs(row.regretByRound[1] - 4) < 1e-9)
        #expect(abs(row.meanShownRating - 2) < 1e-9)
        // The item rated 5 is left, predicted 2 (the prior barely moves): MAE 3.
        #expect(row.unshownRatings == 1 && abs(row.finalMAE - 3) < 1e-3)
    }

    @Test func badOptionsAreRefused() {
        for bad in [
            ExplorationReplayOptions(rounds: 0), ExplorationReplayOptions(itemsPerRound: 0),
            ExplorationReplayOptions(minimumHeldOut: 0), ExplorationReplayOptions(strengths: [-1]),
        ] {
            #expect(throws: ExplorationError.self) { try bad.validate() }
        }
    }

    /// End to end on a small synthetic split with a briefly trained head.
    @Test func experimentReportsEveryPolicy() throws {
        let data = BuiltInData.synthetic(seed: 1, users: 200, items: 80, targetInteractions: 8_000)
        let experiment = try Experiment(dataset: data.dataset, seed: 0, threads: 2)
        var configuration = CovarianceHead.Configuration()
        configuration.embeddingSize = 4
        configuration.representationSize = 4
        configuration.maxEpochs = 2
        let head = try experiment.trainCovarianceHead(configuration: configuration)
        let options = ExplorationReplayOptions(rounds: 2, itemsPerRound: 2, strengths: [1])
        let report = try experiment.explorationReplay(head: head, options: options)
        #expect(report.rows.map(\.policy) == ["greedy", "thompson(1)", "ucb(1)"])
        #expect(report.loggedRatings > 0 && report.newItems > 0)
        #expect(report.referenceMAE > 0 && report.coldMAE.isFinite && report.priorTrace > 0)
        for row in report.rows { #expect(row.impressions + row.unshownRatings == report.loggedRatings) }
        let markdown = report.markdown()
        #expect(markdown.contains("| ucb(1) |") && markdown.contains("exploration replay"))
        let decoded = try JSONFormat.decoder().decode(
            ExplorationReplayReport.self, from: Data(try report.json().utf8))
        #expect(decoded.rows == report.rows)
    }
}
