import Foundation
import MetaRecCore
import Testing

@testable import MetaRecModels

@Suite struct ExplorationPolicyTests {
    let means = [3.1, 4.0, 2.5, 4.0, 3.9]
    let deviations = [0.9, 0.1, 1.5, 0.6, 0.0]

    /// A whole-number strength past Int's range once trapped when named in a message (found by
    /// schemathesis through the recommendations route).
    @Test func aHugeWholeStrengthIsNamedWithoutATrap() {
        #expect("\(ExplorationPolicy.upperConfidence(strength: 1.6e308))".hasPrefix("ucb(1.6e+308"))
        #expect("\(ExplorationPolicy.thompson(strength: 2))" == "thompson(2)")
    }

    @Test func greedyRanksByMeanWithTiesByIndex() {
        var random = SeededGenerator(seed: 0)
        #expect(
            ExplorationPolicy.greedy.ranking(means: means, standardDeviations: deviations, using: &random) == [
                1, 3, 4, 0, 2,
            ])
    }

    @Test func thompsonAtStrengthZeroIsGreedy() {
        for seed in UInt64(0)..<5 {
            var random = SeededGenerator(seed: seed)
            var other = SeededGenerator(seed: seed + 100)
            #expect(
                ExplorationPolicy.thompson(strength: 0).ranking(
                    means: means, standardDeviations: deviations, using: &random)
                    == ExplorationPolicy.greedy.ranking(means: means, standardDeviations: deviations, using: &other))
        }
    }

    @Test func upperConfidenceRanksTheUncertainItemAboveACertainOneOfEqualMean() {
        var random = SeededGenerator(seed: 0)
        // Items 1 and 3 share the mean 4.0; item 3 is less certain.
        let ranking = ExplorationPolicy.upperConfidence(strength: 1).ranking(
            means: means, standardDeviations: deviations, using: &random)
        #expect(ranking.firstIndex(of: 3)! < ranking.firstIndex(of: 1)!)
        // mean + sd: [4.0, 4.1, 4.0, 4.6, 3.9]
        #expect(ranking == [3, 1, 0, 2, 4])
    }

    /// Thompson at strength 1 puts an uncertain item N(0, 1) above a certain one at 1 with
    /// probability 1 − Φ(1) ≈ 0.1587; at strength 2, 1 − Φ(0.5) ≈ 0.3085.
    @Test func thompsonSamplesThePosterior() {
        for (strength, expected) in [(1.0, 0.158_655), (2.0, 0.308_538)] {
            var random = SeededGenerator(seed: 42)
            let draws = 40_000
            var uncertainFirst = 0
            for _ in 0..<draws {
                let ranking = ExplorationPolicy.thompson(strength: strength).ranking(
                    means: [1, 0], standardDeviations: [0, 1], using: &random)
                if ranking[0] == 1 { uncertainFirst += 1 }
            }
            let share = Double(uncertainFirst) / Double(draws)
            #expect(abs(share - expected) < 0.01, "strength \(strength): \(share) vs \(expected)")
        }
    }

    @Test func namesAndStrengthsAreParsedOrRefusedWithAReason() throws {
        #expect(try ExplorationPolicy(name: "greedy") == .greedy)
        #expect(try ExplorationPolicy(name: "Thompson", strength: 0.5) == .thompson(strength: 0.5))
        #expect(try ExplorationPolicy(name: "ucb", strength: 2) == .upperConfidence(strength: 2))
        #expect(ExplorationPolicy.upperConfidence(strength: 2).description == "ucb(2)")
        #expect(ExplorationPolicy.thompson(strength: 0.5).description == "thompson(0.5)")
        do {
            _ = try ExplorationPolicy(name: "epsilon")
            Issue.record("an unknown policy was accepted")
        } catch {
            #expect(error.message.contains("'epsilon'") && error.message.contains("greedy, thompson, ucb"))
        }
        for bad in [-1.0, .nan, .infinity] {
            #expect(throws: ExplorationError.self) { try ExplorationPolicy(name: "ucb", strength: bad) }
        }
    }
}
