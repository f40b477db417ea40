import Foundation

/// A person known to the service: their raw features (JSON object bytes, as the client sent
/// them) and when they were first seen.
public struct StoredUser: Sendable, Equatable {
    public var id: String
    public var features: Data
    public var createdAt: Date
    public var feedbackCount: Int
    public init(id: String, features: Data = Data("{}".utf8), createdAt: Date, feedbackCount: Int = 0) {
        self.id = id
        self.features = features
        self.createdAt = createdAt
        self.feedbackCount = feedbackCount
    }
}

/// One rating or click, as received. `sequence` is the store's append order (0 before storing).
public struct StoredFeedback: Sendable, Equatable {
    public var user: String
    public var item: String
    public var value: Float
    public var timestamp: Date
    public var sequence: Int64
    public init(user: String, item: String, value: Float, timestamp: Date, sequence: Int64 = 0) {
        self.user = user
        self.item = item
        self.value = value
        self.timestamp = timestamp
        self.sequence = sequence
    }
}

/// A user's adapted part under one model version, and the last feedback it has seen.
public struct StoredState: Sendable, Equatable {
    public var modelVersion: String
    public var lastSequence: Int64
    public var values: [Float]
    public init(modelVersion: String, lastSequence: Int64, values: [Float]) {
        self.modelVersion = modelVersion
        self.lastSequence = lastSequence
        self.values = values
    }
}

/// An item added while serving (raw features as JSON object bytes).
public struct StoredItem: Sendable, Equatable {
    public var id: String
    public var title: String
    public var features: Data
    public var addedAt: Date
    public init(id: String, title: String, features: Data, addedAt: Date) {
        self.id = id
        self.title = title
        self.features = features
        self.addedAt = addedAt
    }
}

public struct StoreCounts: Sendable, Equatable, Codable {
    public var users: Int
    public var feedback: Int
    public var addedItems: Int
    public var impressions: Int
    public var adaptedStates: Int
}

/// What the service keeps: users, items added at run time and which items are hidden, the
/// feedback log (append-only), impressions, and each user's adapted state. Every method
/// returns only once its write is durable. Implementations must be safe to call from many
/// tasks; they need not order writes for one user (the service serialises per user), so a
/// store shared by several replicas (PostgreSQL) fits the same protocol.
public protocol RecommendationStore: Sendable {
    func user(_ id: String) async throws -> StoredUser?
    /// Creates the user or replaces their features (keeping `createdAt`).
    func saveUser(_ user: StoredUser) async throws
    /// Erases the user, their feedback, impressions and adapted state; false if unknown.
    func deleteUser(_ id: String) async throws -> Bool
    /// Appends a batch in one transaction; users it names for the first time are created.
    func append(_ feedback: [StoredFeedback]) async throws
    /// The user's most recent `limit` feedback rows, oldest first.
    func recentFeedback(user: String, limit: Int) async throws -> [StoredFeedback]
    /// Every item the user has given feedback on.
    func ratedItems(user: String) async throws -> Set<String>
    func adaptedState(user: String) async throws -> StoredState?
    func saveAdaptedState(_ state: StoredState, user: String) async throws
    func saveItem(_ item: StoredItem) async throws
    /// Items added while serving, in the order they were added.
    func addedItems() async throws -> [StoredItem]
    func setHidden(item: String, _ hidden: Bool) async throws
    func hiddenItems() async throws -> Set<String>
    func recordImpressions(user: String, items: [String], at: Date) async throws
    func counts() async throws -> StoreCounts
    /// Stored bytes of one user's adapted state row (payload plus the row's fixed fields).
    func storedStateBytes(user: String) async throws -> Int?
    func close() async throws
}

/// Why the store cannot be opened or used.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
