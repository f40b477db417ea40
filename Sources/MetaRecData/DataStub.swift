// TEMPORARY stand-in for the data layer's API while it is built on its branch; removed at merge.
import MetaRecCore

public enum FeedbackKind: Sendable { case explicit; case implicit(threshold: Float) }
public struct Interaction: Sendable, Equatable {
    public var user: Int32; public var item: Int32; public var value: Float; public var timestamp: Int64
    public init(user: Int32, item: Int32, value: Float, timestamp: Int64) { self.user = user; self.item = item; self.value = value; self.timestamp = timestamp }
}
public enum FeatureKind: String, Sendable { case categorical, multiCategorical, numericBucketed, numericStandardized, date, dense }
public struct FeatureField: Sendable, Equatable { public var name: String; public var kind: FeatureKind; public var cardinality: Int; public var dimension: Int }
public struct FeatureTable: Sendable {
    public var fields: [FeatureField]
    public var count: Int
    public func indices(field: Int, entity: Int) -> ArraySlice<Int32> { [] }
    public func dense(field: Int, entity: Int) -> ArraySlice<Float> { [] }
}
public struct Dataset: Sendable {
    public var name: String
    public var feedback: FeedbackKind
    public var userCount: Int, itemCount: Int
    public var interactions: [Interaction]
    public var userIDs: [String], itemIDs: [String]
    public var itemTitles: [String]?
    public var fileChecksums: [String: String]
}
public struct SplitOptions: Sendable { public var seed: UInt64 = 0; public init() {} }
public enum Scenario: String, CaseIterable, Sendable { case warm, validation, userCold = "user-cold", itemCold = "item-cold", bothCold = "both-cold" }
public struct Task: Sendable {
    public var user: Int32; public var scenario: Scenario; public var support: [Interaction]; public var query: [Interaction]
    public func truncatedSupport(toEarliest k: Int) -> Task { var t = self; t.support = Array(support.prefix(k)); return t }
}
public struct ProtocolSplit: Sendable {
    public var options: SplitOptions
    public var existingUsers: [Int32], validationUsers: [Int32], newUsers: [Int32]
    public var isNewItem: [Bool]
    public var warmInteractions: [Interaction]
    public func tasks(_ scenario: Scenario) -> [Task] { [] }
    public var userFeatures: FeatureTable
    public var itemFeatures: FeatureTable
    public func warmRatingsByUser() -> [Int32: [Interaction]] { [:] }
    public init(dataset: Dataset, options: SplitOptions) throws { fatalError() }
}
