import MetaRecCore

/// The knobs of the protocol's splits (Docs/protocol.md, Splits); the defaults are the protocol's.
public struct SplitOptions: Sendable, Equatable {
    public var seed: UInt64
    /// Existing (meta-training), validation and new (test) user fractions, cut in that order.
    public var userFractions: (existing: Double, validation: Double, new: Double)
    /// The share of items, by latest release date, that are new.
    public var newItemFraction: Double
    /// A task needs at least this many ratings...
    public var minimumTaskSize: Int
    /// ...and keeps at most this many, the earliest (a cold user is known by their early history).
    public var maximumTaskSize: Int
    /// Query ratings per task, drawn at random with the seed; the rest is support.
    public var querySize: Int
    /// How users are ordered before the cut: shuffled with the seed (the protocol), or by their
    /// first interaction, so that meta-training sees only the earliest users and the new users
    /// are the latest (a stream with drift, issue 20).
    public var userOrder: UserOrder

    /// See ``userOrder``.
    public enum UserOrder: String, Sendable, Equatable, Codable {
        case shuffled
        case arrival
    }

    public init(
        seed: UInt64 = 0, userFractions: (existing: Double, validation: Double, new: Double) = (0.7, 0.1, 0.2),
        newItemFraction: Double = 0.2, minimumTaskSize: Int = 13, maximumTaskSize: Int = 100, querySize: Int = 10,
        userOrder: UserOrder = .shuffled
    ) {
        self.userOrder = userOrder
        self.seed = seed
        self.userFractions = userFractions
        self.newItemFraction = newItemFraction
        self.minimumTaskSize = minimumTaskSize
        self.maximumTaskSize = maximumTaskSize
        self.querySize = querySize
    }

    public static func == (a: SplitOptions, b: SplitOptions) -> Bool {
        a.seed == b.seed && a.userFractions == b.userFractions && a.newItemFraction == b.newItemFraction
            && a.minimumTaskSize == b.minimumTaskSize && a.maximumTaskSize == b.maximumTaskSize
            && a.querySize == b.querySize && a.userOrder == b.userOrder
    }

    func validate() throws {
        let f = userFractions
        guard f.existing >= 0, f.validation >= 0, f.new >= 0, abs(f.existing + f.validation + f.new - 1) < 1e-6 else {
            throw DataError(
                file: "split options",
                "user fractions must be non-negative and sum to 1, got \(f.existing), \(f.validation), \(f.new)")
        }
        guard newItemFraction >= 0, newItemFraction <= 1 else {
            throw DataError(file: "split options", "the new-item fraction must be in [0, 1], got \(newItemFraction)")
        }
        guard querySize >= 1, minimumTaskSize > querySize, maximumTaskSize >= minimumTaskSize else {
            throw DataError(
                file: "split options",
                "expected 1 <= query size < minimum task size <= maximum task size, got \(querySize), \(minimumTaskSize), \(maximumTaskSize)"
            )
        }
    }
}

/// The protocol's five scenarios: which users meet which items (Docs/protocol.md, Splits 4),
/// and item-cold validation: validation users meeting new items, for choices that only matter
/// when the items are new (such as starting a known user from their history). Its ratings are in
/// no test scenario: test item-cold pairs existing users, and both-cold new users, with new items.
public enum Scenario: String, CaseIterable, Sendable, Codable {
    case warm
    case validation
    case userCold = "user-cold"
    case itemCold = "item-cold"
    case bothCold = "both-cold"
    case itemColdValidation = "item-cold-validation"

    /// Whether the scenario's items are the new ones.
    public var usesNewItems: Bool { self == .itemCold || self == .bothCold || self == .itemColdValidation }

    /// Whether the scenario's users have a history a model may start from: existing users (their
    /// warm ratings, which training saw) and, for model selection, validation users (their ratings
    /// on existing items) meeting new items. New users, and users meeting existing items, have none.
    public var usersHaveHistory: Bool { self == .itemCold || self == .itemColdValidation }
}

/// One user's ratings restricted to one item set: support (time order) to adapt on, query to score.
/// (Named so that it does not shadow Swift concurrency's `Task`.)
public struct ProtocolTask: Sendable, Equatable {
    public var user: Int32
    public var scenario: Scenario
    public var support: [Interaction]
    public var query: [Interaction]

    public init(user: Int32, scenario: Scenario, support: [Interaction], query: [Interaction]) {
        self.user = user
        self.scenario = scenario
        self.support = support
        self.query = query
    }
}

extension ProtocolTask {
    /// The few-shot variant: only the `k` earliest support ratings (Docs/protocol.md, Metrics,
    /// few-shot curve; k = 0 means no adaptation). The query is unchanged.
    public func truncatedSupport(toEarliest k: Int) -> ProtocolTask {
        var copy = self
        copy.support = Array(support.prefix(max(0, k)))
        return copy
    }
}

/// Counts of one scenario, for `metarec data stats`.
public struct ScenarioStatistics: Sendable, Equatable {
    public var scenario: Scenario
    /// Users in the scenario's user group, and those with at least one rating on its items.
    public var users: Int
    public var activeUsers: Int
    /// Items in the scenario's item set.
    public var items: Int
    public var tasks: Int
    /// Ratings in the tasks (support + query), after the 100-cap.
    public var taskRatings: Int
    /// Every rating of the group on the item set (for warm: what training may use).
    public var allRatings: Int
}

/// The protocol's split of a data set: user groups, new items, tasks per scenario and the
/// features encoded with vocabularies fitted on training entities only. Deterministic for a
/// seed: every draw comes from `SeededGenerator(seed:)` sub-streams.
public struct ProtocolSplit: Sendable {
    public var options: SplitOptions
    public var existingUsers: [Int32]
    public var validationUsers: [Int32]
    public var newUsers: [Int32]
    /// By internal item index.
    public var isNewItem: [Bool]
    /// Items whose newness came from a release date (the rest from their first interaction).
    public var releaseDatedItems: Int = 0
    /// Everything training may see: existing users × existing items, all of their ratings,
    /// in the data set's order (user, time, item).
    public var warmInteractions: [Interaction]
    /// Validation users' ratings on existing items, all of them (their tasks keep at most the
    /// earliest 100): the history they bring to item-cold validation.
    public var validationHistory: [Interaction] = []
    /// Encoded with vocabularies fitted on existing users.
    public var userFeatures: FeatureTable
    /// Encoded with vocabularies fitted on existing items.
    public var itemFeatures: FeatureTable
    /// Fitted encoders, to encode entities of another data set the same way.
    public var userEncoder: FeatureEncoder
    public var itemEncoder: FeatureEncoder
    public private(set) var statistics: [ScenarioStatistics] = []
    var tasksByScenario: [Scenario: [ProtocolTask]] = [:]

    public init(dataset: Dataset, options: SplitOptions = SplitOptions()) throws {
        try options.validate()
        guard !dataset.interactions.isEmpty else {
            throw DataError(file: dataset.name, "no interactions to split (empty data set)")
        }
        self.options = options
        let root = SeededGenerator(seed: options.seed)

        // 1. Users: shuffle (or order by arrival), cut 70 / 10 / 20.
        var order = (0..<dataset.userCount).map(Int32.init)
        var userRandom = root.derived("users")
        userRandom.shuffle(&order)
        if options.userOrder == .arrival {
            var arrival = [Int64](repeating: .max, count: dataset.userCount)
            for x in dataset.interactions where x.timestamp < arrival[Int(x.user)] {
                arrival[Int(x.user)] = x.timestamp
            }
            order = (0..<dataset.userCount).map(Int32.init).sorted {
                (arrival[Int($0)], $0) < (arrival[Int($1)], $1)
            }
        }
        let n = order.count
        let existingCount = Int((Double(n) * options.userFractions.existing + 1e-9).rounded(.down))
        let validationCount = min(
            n - existingCount, Int((Double(n) * options.userFractions.validation + 1e-9).rounded(.down)))
        existingUsers = order[0..<existingCount].sorted()
        validationUsers = order[existingCount..<(existingCount + validationCount)].sorted()
        newUsers = order[(existingCount + validationCount)...].sorted()

        // 2. Items: new when in the latest share of release dates (ties by item id); an item
        //    without a release date uses its first interaction.
        var firstSeen = [Int64](repeating: .max, count: dataset.itemCount)
        // Sampled negatives are not interactions: an item's first one is its first positive.
        let sampled = dataset.negativeSampling != nil
        for x in dataset.interactions where x.timestamp < firstSeen[Int(x.item)] && (!sampled || x.value > 0) {
            firstSeen[Int(x.item)] = x.timestamp
        }
        releaseDatedItems =
            (0..<dataset.itemCount).filter {
                dataset.itemReleaseTimes.indices.contains($0) && dataset.itemReleaseTimes[$0] != nil
            }.count
        let itemTime = (0..<dataset.itemCount).map {
            dataset.itemReleaseTimes.indices.contains($0)
                ? dataset.itemReleaseTimes[$0] ?? firstSeen[$0] : firstSeen[$0]
        }
        let byRelease = (0..<dataset.itemCount).sorted {
            itemTime[$0] != itemTime[$1] ? itemTime[$0] < itemTime[$1] : $0 < $1
        }
        let existingItemCount = Int((Double(dataset.itemCount) * (1 - options.newItemFraction) + 1e-9).rounded(.down))
        var isNew = [Bool](repeating: false, count: dataset.itemCount)
        for i in byRelease[existingItemCount...] { isNew[i] = true }
        isNewItem = isNew
        let newItemCount = dataset.itemCount - existingItemCount

        // Where each user's ratings start (interactions are sorted by user).
        var starts = [Int](repeating: 0, count: dataset.userCount + 1)
        for x in dataset.interactions { starts[Int(x.user) + 1] += 1 }
        for u in 0..<dataset.userCount { starts[u + 1] += starts[u] }

        var warm: [Interaction] = []
        warm.reserveCapacity(dataset.interactions.count * 3 / 4)
        let existing = existingUsers
        dataset.interactions.withUnsafeBufferPointer { all in
            for u in existing {
                for k in starts[Int(u)]..<starts[Int(u) + 1] where !isNew[Int(all[k].item)] { warm.append(all[k]) }
            }
        }
        warmInteractions = warm
        var history: [Interaction] = []
        let validation = validationUsers
        dataset.interactions.withUnsafeBufferPointer { all in
            for u in validation {
                for k in starts[Int(u)]..<starts[Int(u) + 1] where !isNew[Int(all[k].item)] { history.append(all[k]) }
            }
        }
        validationHistory = history

        // 3-4. Tasks per scenario.
        let groups: [(Scenario, [Int32])] = [
            (.warm, existingUsers), (.validation, validationUsers), (.userCold, newUsers),
            (.itemCold, existingUsers), (.bothCold, newUsers), (.itemColdValidation, validationUsers),
        ]
        var block: [Interaction] = []
        for (scenario, users) in groups {
            var tasks: [ProtocolTask] = []
            var stats = ScenarioStatistics(
                scenario: scenario, users: users.count, activeUsers: 0,
                items: scenario.usesNewItems ? newItemCount : existingItemCount, tasks: 0, taskRatings: 0, allRatings: 0
            )
            let wantNew = scenario.usesNewItems
            for u in users {
                block.removeAll(keepingCapacity: true)
                for k in starts[Int(u)]..<starts[Int(u) + 1] {
                    let x = dataset.interactions[k]
                    if isNew[Int(x.item)] == wantNew { block.append(x) }
                }
                stats.allRatings += block.count
                if !block.isEmpty { stats.activeUsers += 1 }
                guard block.count >= options.minimumTaskSize else { continue }
                let size = min(block.count, options.maximumTaskSize)
                var random = root.derived("query/\(scenario.rawValue)/\(u)")
                var inQuery = [Bool](repeating: false, count: size)
                for k in random.sample(options.querySize, from: size) { inQuery[k] = true }
                var support: [Interaction] = []
                var query: [Interaction] = []
                support.reserveCapacity(size - options.querySize)
                query.reserveCapacity(options.querySize)
                for k in 0..<size { if inQuery[k] { query.append(block[k]) } else { support.append(block[k]) } }
                tasks.append(ProtocolTask(user: u, scenario: scenario, support: support, query: query))
                stats.taskRatings += size
            }
            stats.tasks = tasks.count
            tasksByScenario[scenario] = tasks
            statistics.append(stats)
        }

        // Features: vocabularies fitted on training entities only.
        userEncoder = FeatureEncoder.fit(dataset.rawUserFeatures, on: existingUsers)
        userFeatures = userEncoder.encode(dataset.rawUserFeatures, count: dataset.userCount)
        let existingItems = (0..<dataset.itemCount).filter { !isNew[$0] }.map(Int32.init)
        itemEncoder = FeatureEncoder.fit(dataset.rawItemFeatures, on: existingItems)
        itemFeatures = itemEncoder.encode(dataset.rawItemFeatures, count: dataset.itemCount)
    }

    /// Why `scenario` has no task (for reports, which give every scenario a row).
    public func missingTaskReason(_ scenario: Scenario) -> String {
        let stats = statistics(scenario)
        let items = scenario.usesNewItems ? "new items" : "existing items"
        if stats.users == 0 { return "no users in this group" }
        if stats.items == 0 { return "no \(items)" }
        return "no user of the group has \(options.minimumTaskSize) ratings on \(items) (the most any has is fewer)"
    }

    /// The rule in force for new items: release dates where the data has them, else the first interaction.
    public var newItemRule: String {
        let dated = releaseDatedItems
        let share = "latest \(Int((options.newItemFraction * 100).rounded()))%"
        if dated == isNewItem.count { return "\(share) by release date" }
        if dated == 0 { return "\(share) by first interaction (the data has no release dates)" }
        return
            "\(share) by release date (\(dated) items), first interaction for the \(isNewItem.count - dated) items without one"
    }

    /// The tasks of `scenario`, ordered by user.
    public func tasks(_ scenario: Scenario) -> [ProtocolTask] { tasksByScenario[scenario] ?? [] }

    /// The counts of one scenario.
    public func statistics(_ scenario: Scenario) -> ScenarioStatistics {
        statistics.first { $0.scenario == scenario }!
    }

    /// Warm ratings grouped by user, each in time order: what meta-training samples its own
    /// support and query sets from (Docs/protocol.md, Splits 3).
    public func warmRatingsByUser() -> [Int32: [Interaction]] {
        var result: [Int32: [Interaction]] = [:]
        for x in warmInteractions { result[x.user, default: []].append(x) }
        return result
    }

    /// What is known of each user before they meet new items, in time order: existing users'
    /// warm ratings and validation users' ratings on existing items. New users are absent.
    public func knownHistories() -> [Int32: [Interaction]] {
        var result = warmRatingsByUser()
        for x in validationHistory { result[x.user, default: []].append(x) }
        return result
    }

    /// The user group a user is in.
    public func group(of user: Int32) -> UserGroup {
        if existingUsers.binarySearchContains(user) { return .existing }
        if validationUsers.binarySearchContains(user) { return .validation }
        return .new
    }

    public enum UserGroup: String, Sendable { case existing, validation, new }
}

extension Array where Element == Int32 {
    func binarySearchContains(_ value: Int32) -> Bool {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && self[lo] == value
    }
}
