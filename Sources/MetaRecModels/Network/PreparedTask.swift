import MetaRecCore
import MetaRecData

/// A task's support and query rows encoded for the model once, so that training and
/// evaluation never re-read feature tables inside the adaptation loop.
public struct PreparedTask: Sendable {
    public var user: Int32
    /// The user's features: one row, shared by every item row.
    public var userBatch: EntityBatch
    public var supportItems: EntityBatch
    public var supportTargets: Tensor
    public var queryItems: EntityBatch
    public var queryTargets: Tensor
    public var supportItemIDs: [Int32]
    public var queryItemIDs: [Int32]
    /// What was known of the user before the task, where the scenario has it (existing users
    /// meeting new items): a model may start them from it instead of from the prior.
    public var history: KnownHistory?

    public init(user: Int32, support: [Interaction], query: [Interaction], features: FeatureContext) {
        self.user = user
        userBatch = EntityBatch(features.users, entities: [user])
        supportItemIDs = support.map(\.item)
        queryItemIDs = query.map(\.item)
        supportItems = EntityBatch(features.items, entities: supportItemIDs)
        supportTargets = Tensor(shape: [support.count, 1], values: support.map(\.value))
        queryItems = EntityBatch(features.items, entities: queryItemIDs)
        queryTargets = Tensor(shape: [query.count, 1], values: query.map(\.value))
    }

    /// A task for someone the feature tables do not know (a brand-new user): `userBatch` gives
    /// their features, for example ``EntityBatch/unknown(_:)``.
    public init(userBatch: EntityBatch, support: [Interaction], query: [Interaction], features: FeatureContext) {
        self.init(user: 0, support: support, query: query, features: features)
        self.user = -1
        self.userBatch = userBatch
    }

    public init(_ task: ProtocolTask, features: FeatureContext) {
        self.init(user: task.user, support: task.support, query: task.query, features: features)
    }

    /// The task with the user's known history attached (nil or empty: none).
    public func withHistory(_ ratings: [Interaction]?, features: FeatureContext) -> PreparedTask {
        var copy = self
        copy.history = ratings.flatMap { $0.isEmpty ? nil : KnownHistory($0, features: features) }
        return copy
    }

    /// The task whose support is the user's `latest` most recent history ratings followed by its
    /// own support: how a gradient method starts a known user from their state adapted on what
    /// they rated before. The task itself when it has no history.
    public func historyInSupport(latest: Int) -> PreparedTask {
        guard let history, latest > 0 else { return self }
        let earlier = history.ratings.suffix(latest)
        let own = zip(supportItemIDs, supportTargets.values).map {
            Interaction(user: user, item: $0.0, value: $0.1, timestamp: 0)
        }
        let query = zip(queryItemIDs, queryTargets.values).map {
            Interaction(user: user, item: $0.0, value: $0.1, timestamp: 0)
        }
        var copy = PreparedTask(user: user, support: earlier + own, query: query, features: history.features)
        copy.userBatch = userBatch
        copy.history = history
        return copy
    }

    public var supportCount: Int { supportItems.rows }
    public var queryCount: Int { queryItems.rows }
}

/// A known user's earlier ratings, encoded once: the start of their state in item-cold tasks.
public struct KnownHistory: Sendable {
    public var items: EntityBatch
    public var targets: Tensor
    public var itemIDs: [Int32]
    /// The ratings in time order, and the features they were encoded with (for
    /// ``PreparedTask/historyInSupport(latest:)``).
    public var ratings: [Interaction]
    let features: FeatureContext

    public init(_ ratings: [Interaction], features: FeatureContext) {
        self.ratings = ratings
        self.features = features
        itemIDs = ratings.map(\.item)
        items = EntityBatch(features.items, entities: itemIDs)
        targets = Tensor(shape: [ratings.count, 1], values: ratings.map(\.value))
    }

    public var count: Int { itemIDs.count }
}

/// The encoded user and item features a model reads.
public struct FeatureContext: Sendable {
    public var users: FeatureTable
    public var items: FeatureTable

    public init(users: FeatureTable, items: FeatureTable) {
        self.users = users
        self.items = items
    }

    public init(_ split: ProtocolSplit) {
        self.init(users: split.userFeatures, items: split.itemFeatures)
    }
}
