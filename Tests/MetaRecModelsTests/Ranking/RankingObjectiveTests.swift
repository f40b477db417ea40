import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// The ranking terms of the meta-learners' query loss (BPR, sampled softmax): closed forms on
/// small cases, gradients against central finite differences, and the sampled negatives.
@Suite struct RankingObjectiveTests {
    /// Query targets: two liked (5, 4), one disliked (2), two sampled negatives (−1).
    let targets: [Float] = [5, 2, 4, RankingLoss.sampledNegativeTarget, RankingLoss.sampledNegativeTarget]
    let scores: [Float] = [0.3, -0.2, 1.1, 0.4, -0.7]

    func term(_ objective: RankingObjective, _ values: [Float]) -> Float? {
        RankingLoss(objective: objective).rankingTerm(
            Tensor(shape: [values.count, 1], values: values), targets: targets)?
            .scalar
    }

    /// BPR: liked {0, 2} × negatives {1, 3, 4}: the mean of log(1 + exp(s⁻ − s⁺)) over the 6 pairs.
    @Test func bprIsTheMeanPairLoss() throws {
        var expected = 0.0
        for i in [0, 2] {
            for j in [1, 3, 4] { expected += Foundation.log(1 + Foundation.exp(Double(scores[j] - scores[i]))) }
        }
        expected /= 6
        let value = try #require(term(.bpr, scores))
        #expect(abs(Double(value) - expected) < 1e-5)
    }

    /// Sampled softmax: per liked item, log(exp s⁺ + Σ exp s⁻) − s⁺, averaged over the 2 liked.
    @Test func sampledSoftmaxIsTheMeanNegativeLogShare() throws {
        var expected = 0.0
        for i in [0, 2] {
            let denominator = ([i, 1, 3, 4]).reduce(0.0) { $0 + Foundation.exp(Double(scores[$1])) }
            expected += Foundation.log(denominator) - Double(scores[i])
        }
        expected /= 2
        let value = try #require(term(.sampledSoftmax, scores))
        #expect(abs(Double(value) - expected) < 1e-5)
        // Large scores do not overflow (the shift by the largest score).
        #expect(term(.sampledSoftmax, scores.map { $0 + 200 })?.isFinite == true)
    }

    /// Without a liked item, or without a negative, there is no ranking term; pointwise has none.
    @Test func noTermWithoutBothKinds() {
        let loss = RankingLoss(objective: .bpr)
        let column = Tensor(shape: [2, 1], values: [1, 2])
        #expect(loss.rankingTerm(column, targets: [5, 4]) == nil)
        #expect(loss.rankingTerm(column, targets: [1, RankingLoss.sampledNegativeTarget]) == nil)
        #expect(RankingLoss(objective: .pointwise).rankingTerm(column, targets: [5, 1]) == nil)
    }

    /// d loss / d scores of the whole query loss (squared error on the real rows plus 0.5 × the
    /// ranking term) against central finite differences, for both objectives.
    @Test(arguments: [RankingObjective.bpr, .sampledSoftmax])
    func gradientsMatchFiniteDifferences(_ objective: RankingObjective) throws {
        let settings = RankingLoss(objective: objective, weight: 0.5)
        let targetTensor = Tensor(shape: [targets.count, 1], values: targets)
        func loss(_ values: [Float]) -> Tensor {
            settings.loss(
                Tensor(shape: [values.count, 1], values: values, requiresGradient: true), targetTensor,
                pointwise: meanSquaredError)
        }
        let input = Tensor(shape: [scores.count, 1], values: scores, requiresGradient: true)
        let analytic = gradients(
            of: settings.loss(input, targetTensor, pointwise: meanSquaredError), withRespectTo: [input])[0].denseValues
        let step: Float = 1e-2
        for i in scores.indices {
            var up = scores
            var down = scores
            up[i] += step
            down[i] -= step
            let numeric = (loss(up).scalar - loss(down).scalar) / (2 * step)
            #expect(abs(analytic[i] - numeric) < 2e-3, "score \(i): \(analytic[i]) vs \(numeric)")
        }
        // A sampled negative has no rating: its gradient is the ranking term's alone, and the
        // squared error reads the three real rows only (mean over 3, not 5).
        let pointwiseOnly = RankingLoss(objective: .pointwise).loss(input, targetTensor, pointwise: meanSquaredError)
        let real: [(Float, Float)] = [(scores[0], 5), (scores[1], 2), (scores[2], 4)]
        let expected = real.reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / 3
        #expect(abs(pointwiseOnly.scalar - expected) < 1e-4)
    }

    /// Negatives come from the pool, never from the user's own ratings, and carry the mark.
    @Test func negativesAreUnratedPoolItems() {
        let world = SmallWorld.shared
        let ratings = world.split.warmRatingsByUser()
        let user = ratings.keys.sorted()[0]
        let rated = ratings[user]!
        let task = PreparedTask(
            user: user, support: Array(rated.prefix(3)), query: Array(rated.dropFirst(3).prefix(4)),
            features: world.features)
        let pool = RankingLoss.itemPool(ratings)
        var random = SeededGenerator(seed: 1)
        let augmented = RankingLoss(objective: .bpr, negatives: 8).withNegatives(
            task, rated: rated, pool: pool, features: world.features, random: &random)
        #expect(augmented.queryCount == task.queryCount + 8)
        let added = Array(augmented.queryItemIDs.dropFirst(task.queryCount))
        let ratedItems = Set(rated.map(\.item))
        #expect(added.allSatisfy { !ratedItems.contains($0) && pool.contains($0) })
        #expect(Array(augmented.queryTargets.values.dropFirst(task.queryCount)) == Array(repeating: -1, count: 8))
        #expect(Array(augmented.queryTargets.values.prefix(task.queryCount)) == task.queryTargets.values)
        // Pointwise leaves the task as it was.
        let same = RankingLoss(objective: .pointwise).withNegatives(
            task, rated: rated, pool: pool, features: world.features, random: &random)
        #expect(same.queryItemIDs == task.queryItemIDs)
    }
}
