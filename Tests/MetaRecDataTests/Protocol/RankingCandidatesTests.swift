import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

/// The full-ranking candidate rule (Docs/protocol.md, Full ranking): the scenario's item set less
/// what the user rated outside the task's query.
@Suite struct RankingCandidatesTests {
    func rating(_ user: Int32, _ item: Int32) -> Interaction {
        Interaction(user: user, item: item, value: 4, timestamp: 0)
    }

    /// Items 0-5 existing, 6-7 new. User 1 rated 0, 1 (support), 2 (query), 3 (past the first 100,
    /// in no task), 6 (a new item) and 4 twice (once in the query, once outside it). User 2's
    /// ratings do not matter for user 1.
    @Test func supportHistoryAndRatingsOutsideTheQueryAreNotCandidates() {
        let log = [1, 0, 2, 3, 6, 4, 4].map { rating(1, $0) } + [rating(2, 5), rating(2, 7)]
        let rule = RankingCandidates(
            interactions: log, isNewItem: [false, false, false, false, false, false, true, true])
        #expect(rule.items(for: .userCold) == [0, 1, 2, 3, 4, 5])
        #expect(rule.items(for: .itemCold) == [6, 7])
        let task = ProtocolTask(
            user: 1, scenario: .userCold, support: [rating(1, 0), rating(1, 1)], query: [rating(1, 2), rating(1, 4)])
        // 0, 1 support; 3 rated outside any task; 4 also rated outside the query; 5 never rated: kept.
        #expect(rule.candidates(for: task) == [2, 5])
        // Both ratings of item 4 in the query: it stays.
        let twice = ProtocolTask(user: 1, scenario: .userCold, support: [], query: [rating(1, 4), rating(1, 4)])
        #expect(rule.candidates(for: twice).contains(4))
        // New items for item-cold: 6 was rated outside this query, 7 only by someone else.
        let itemCold = ProtocolTask(user: 1, scenario: .itemCold, support: [rating(1, 6)], query: [])
        #expect(rule.candidates(for: itemCold) == [7])
        // A user the log does not know ranks the whole item set.
        #expect(rule.candidates(for: ProtocolTask(user: 42, scenario: .bothCold, support: [], query: [])) == [6, 7])
    }

    /// On a protocol split: every query item is a candidate, no support item is, and nothing the user
    /// rated outside the query (including ratings past the first 100) is.
    @Test func onASplitQueriesStayAndEverythingElseRatedGoes() throws {
        let data = smallSynthetic.dataset
        let split = try ProtocolSplit(dataset: data)
        let rule = RankingCandidates(split: split, dataset: data)
        var byUser: [Int32: Set<Int32>] = [:]
        for x in data.interactions { byUser[x.user, default: []].insert(x.item) }
        var checked = 0
        for scenario in [Scenario.userCold, .itemCold, .bothCold] {
            for task in split.tasks(scenario).prefix(20) {
                let candidates = Set(rule.candidates(for: task))
                let query = Set(task.query.map(\.item))
                #expect(query.isSubset(of: candidates))
                #expect(candidates.isDisjoint(with: task.support.map(\.item)))
                #expect(candidates.isDisjoint(with: byUser[task.user, default: []].subtracting(query)))
                #expect(candidates.allSatisfy { split.isNewItem[Int($0)] == scenario.usesNewItems })
                checked += 1
            }
        }
        #expect(checked > 20)
    }
}
