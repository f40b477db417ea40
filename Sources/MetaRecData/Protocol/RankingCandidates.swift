/// The candidates of full ranking (Docs/protocol.md, Full ranking): a product ranks the whole
/// catalogue, not a task's ten query items, so each task is scored against every item of its
/// scenario's item set that the user has not rated outside the task's query. The support, the
/// warm history and ratings past the first 100 are therefore never candidates: recommending what
/// someone already rated is no recommendation.
public struct RankingCandidates: Sendable {
    /// Existing items, then new items, each ascending.
    public let existingItems: [Int32]
    public let newItems: [Int32]
    /// Every item each user has in the log (ascending, repeated when rated twice); a sampled
    /// negative counts, as the user was shown it.
    private let rated: [Int32: [Int32]]

    /// - Parameters:
    ///   - interactions: the whole log (every user, every item), in any order.
    ///   - isNewItem: by internal item index, as ``ProtocolSplit/isNewItem``.
    public init(interactions: [Interaction], isNewItem: [Bool]) {
        var rated: [Int32: [Int32]] = [:]
        for x in interactions { rated[x.user, default: []].append(x.item) }
        self.rated = rated.mapValues { $0.sorted() }
        existingItems = isNewItem.indices.filter { !isNewItem[$0] }.map(Int32.init)
        newItems = isNewItem.indices.filter { isNewItem[$0] }.map(Int32.init)
    }

    public init(split: ProtocolSplit, dataset: Dataset) {
        self.init(interactions: dataset.interactions, isNewItem: split.isNewItem)
    }

    /// The scenario's item set: new items where the scenario's items are new, existing otherwise.
    public func items(for scenario: Scenario) -> [Int32] { scenario.usesNewItems ? newItems : existingItems }

    /// The candidates of `task`, ascending: items of its scenario's set that the user rated no more
    /// often than the query holds them (so every query item is kept unless it was also rated elsewhere).
    public func candidates(for task: ProtocolTask) -> [Int32] {
        candidates(user: task.user, query: task.query.map(\.item), items: items(for: task.scenario))
    }

    /// The items of `items` that `user` has not rated outside `query`.
    public func candidates(user: Int32, query: [Int32], items: [Int32]) -> [Int32] {
        let history = rated[user] ?? []
        var inQuery: [Int32: Int] = [:]
        for item in query { inQuery[item, default: 0] += 1 }
        return items.filter { item in
            let times = Self.count(of: item, in: history)
            return times <= (inQuery[item] ?? 0)
        }
    }

    /// How often `item` occurs in the ascending `sorted`.
    private static func count(of item: Int32, in sorted: [Int32]) -> Int {
        var lo = 0
        var hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < item { lo = mid + 1 } else { hi = mid }
        }
        var end = lo
        while end < sorted.count && sorted[end] == item { end += 1 }
        return end - lo
    }
}
