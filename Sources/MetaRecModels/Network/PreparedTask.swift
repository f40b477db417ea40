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

    public var supportCount: Int { supportItems.rows }
    public var queryCount: Int { queryItems.rows }
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
