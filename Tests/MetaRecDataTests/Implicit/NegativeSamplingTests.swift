import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

@Suite struct NegativeSamplingTests {
    /// A play log: 30 users, 50 items, positives only; item 0 is played by everyone.
    static func playLog() -> Dataset {
        var interactions: [Interaction] = []
        for user in 0..<30 {
            let items = Set([0] + (0..<6).map { (user * 7 + $0 * 3) % 50 }).sorted()
            for (k, item) in items.enumerated() {
                interactions.append(
                    Interaction(user: Int32(user), item: Int32(item), value: 1, timestamp: Int64(100 * user + k)))
            }
        }
        return Dataset(
            name: "plays", feedback: .explicit, userCount: 30, itemCount: 50, interactions: interactions,
            userIDs: (0..<30).map(String.init), itemIDs: (0..<50).map(String.init))
    }

    @Test func detectsAPositiveOnlyLog() {
        #expect(Self.playLog().isPositiveOnly)
        var mixed = Self.playLog()
        mixed.interactions[3].value = 0
        #expect(!mixed.isPositiveOnly)
    }

    @Test func negativesAreUntouchedSeededAndAtTheRatio() {
        let log = Self.playLog()
        for strategy in NegativeSampling.Strategy.allCases {
            let sampled = log.withSampledNegatives(NegativeSampling(strategy: strategy, ratio: 2, seed: 7))
            #expect(sampled.feedback == .implicit(threshold: 1))
            #expect(sampled.negativeSampling?.ratio == 2)
            let positives = Dictionary(grouping: log.interactions, by: \.user).mapValues { Set($0.map(\.item)) }
            for (user, rows) in Dictionary(grouping: sampled.interactions, by: \.user) {
                let negatives = rows.filter { $0.value == 0 }.map(\.item)
                #expect(negatives.count == 2 * positives[user]!.count)
                #expect(Set(negatives).count == negatives.count, "a negative drawn twice")
                #expect(Set(negatives).isDisjoint(with: positives[user]!), "a negative the user touched")
                #expect(
                    rows == rows.sorted { ($0.timestamp, $0.item) < ($1.timestamp, $1.item) }, "rows out of time order")
            }
            #expect(
                sampled.interactions
                    == log.withSampledNegatives(NegativeSampling(strategy: strategy, ratio: 2, seed: 7)).interactions)
            #expect(
                sampled.interactions
                    != log.withSampledNegatives(NegativeSampling(strategy: strategy, ratio: 2, seed: 8)).interactions)
        }
    }

    @Test func popularityWeightingFavoursPopularItems() {
        // Even users play the hits 1-5 and three niche items; odd users four niche items (10-49).
        var interactions: [Interaction] = []
        for user in 0..<30 {
            let niche = (0..<(user % 2 == 0 ? 3 : 4)).map { 10 + (user * 5 + $0 * 11) % 40 }
            let items = Set((user % 2 == 0 ? [1, 2, 3, 4, 5] : []) + niche).sorted()
            for (k, item) in items.enumerated() {
                interactions.append(Interaction(user: Int32(user), item: Int32(item), value: 1, timestamp: Int64(k)))
            }
        }
        let log = Dataset(
            name: "hits", feedback: .explicit, userCount: 30, itemCount: 50, interactions: interactions,
            userIDs: (0..<30).map(String.init), itemIDs: (0..<50).map(String.init))
        func hitShare(_ strategy: NegativeSampling.Strategy) -> Double {
            let negatives = log.withSampledNegatives(NegativeSampling(strategy: strategy, ratio: 2, seed: 1))
                .interactions
                .filter { $0.value == 0 && $0.user % 2 == 1 }
            return Double(negatives.filter { (1...5).contains($0.item) }.count) / Double(negatives.count)
        }
        // Items 0 and 6-9 are never played, so popularity weighting never draws them.
        #expect(hitShare(.uniform) < 0.25)
        #expect(hitShare(.popularity) > 0.3)
        let popular = log.withSampledNegatives(NegativeSampling(strategy: .popularity, ratio: 2, seed: 1)).interactions
        #expect(!popular.contains { $0.value == 0 && ($0.item == 0 || (6...9).contains($0.item)) })
    }

    @Test func aUserWhoTouchedAlmostEverythingGetsWhatIsLeft() {
        let interactions = (0..<9).map { Interaction(user: 0, item: Int32($0), value: 1, timestamp: Int64($0)) }
        let log = Dataset(
            name: "greedy", feedback: .explicit, userCount: 1, itemCount: 10, interactions: interactions,
            userIDs: ["u"], itemIDs: (0..<10).map(String.init))
        let sampled = log.withSampledNegatives(NegativeSampling(ratio: 4))
        #expect(sampled.interactions.filter { $0.value == 0 }.map(\.item) == [9])
    }

    @Test func theNewItemRuleIgnoresNegatives() throws {
        let log = Self.playLog().withSampledNegatives(NegativeSampling(ratio: 1, seed: 0))
        let split = try ProtocolSplit(dataset: log, options: SplitOptions(minimumTaskSize: 3, querySize: 2))
        #expect(split.newItemRule.contains("first interaction"))
        var firstPositive = [Int64](repeating: .max, count: 50)
        for x in Self.playLog().interactions {
            firstPositive[Int(x.item)] = min(firstPositive[Int(x.item)], x.timestamp)
        }
        let newest = (0..<50).filter { split.isNewItem[$0] }.map { firstPositive[$0] }.min()!
        let oldest = (0..<50).filter { !split.isNewItem[$0] }.map { firstPositive[$0] }.max()!
        #expect(newest >= oldest)
    }
}
