/// Explicit ratings, or clicks derived from them (Docs/protocol.md, Metrics: "rating >= 4 is positive").
public enum FeedbackKind: Sendable, Equatable, CustomStringConvertible {
    case explicit
    /// value >= threshold becomes 1, else 0 (a click log's 0/1 values pass through with threshold 1).
    case implicit(threshold: Float)

    /// Maps a raw value to the stored one.
    @inline(__always)
    public func map(_ value: Float) -> Float {
        switch self {
        case .explicit: return value
        case .implicit(let threshold): return value >= threshold ? 1 : 0
        }
    }

    public var description: String {
        switch self {
        case .explicit: return "explicit"
        case .implicit(let threshold): return "implicit (value >= \(threshold) is positive)"
        }
    }
}

/// One rating or click with dense 0-based internal ids (`Dataset.userIDs` / `itemIDs` give the
/// external ones). Timestamps are seconds since 1970 (or the line number when a log has none).
public struct Interaction: Sendable, Equatable, Hashable {
    public var user: Int32
    public var item: Int32
    public var value: Float
    public var timestamp: Int64

    public init(user: Int32, item: Int32, value: Float, timestamp: Int64) {
        self.user = user
        self.item = item
        self.value = value
        self.timestamp = timestamp
    }
}

/// A loaded data set: interactions plus unencoded side features.
///
/// Invariants every reader establishes (see Docs/data.md):
/// - internal ids are 0-based and follow the external ids' sorted order (numeric ids
///   numerically), so the protocol's seeded user shuffle does not depend on file order;
/// - one interaction per (user, item): duplicates keep the latest (largest timestamp, then
///   the later line);
/// - `interactions` is sorted by user, then timestamp, then item (the protocol's time order,
///   ties by item id).
public struct Dataset: Sendable {
    public var name: String
    public var feedback: FeedbackKind
    public var userCount: Int
    public var itemCount: Int
    public var interactions: [Interaction]
    public var userIDs: [String]
    public var itemIDs: [String]
    public var itemTitles: [String]?
    /// Release time per item (seconds since 1970), nil when unknown; the protocol then uses
    /// the item's first interaction (Docs/protocol.md, Splits 2).
    public var itemReleaseTimes: [Int64?]
    /// Unencoded features, aligned with internal ids, so vocabularies can be fitted on
    /// training entities only.
    public var rawUserFeatures: RawFeatures
    public var rawItemFeatures: RawFeatures
    /// File name → SHA-256 (hex) of every input file, for the protocol's report.
    public var fileChecksums: [String: String]
    /// Lines skipped under `ImportOptions.skipBadLines`, and the first few reasons.
    public var skippedLines: Int
    public var skipReport: [String]
    /// Rows removed because a later row had the same (user, item).
    public var duplicatesRemoved: Int
    /// Set when the negatives of a positive-only log were sampled (``withSampledNegatives(_:)``).
    public var negativeSampling: NegativeSampling?
    /// What the reader accepted but a user should know (missing side rows, cut last lines, ...).
    public var loadWarnings: [LoadWarning]

    public init(
        name: String, feedback: FeedbackKind, userCount: Int, itemCount: Int,
        interactions: [Interaction], userIDs: [String], itemIDs: [String],
        itemTitles: [String]? = nil, itemReleaseTimes: [Int64?]? = nil,
        rawUserFeatures: RawFeatures = RawFeatures(), rawItemFeatures: RawFeatures = RawFeatures(),
        fileChecksums: [String: String] = [:], skippedLines: Int = 0, skipReport: [String] = [],
        duplicatesRemoved: Int = 0, loadWarnings: [LoadWarning] = []
    ) {
        self.name = name
        self.feedback = feedback
        self.userCount = userCount
        self.itemCount = itemCount
        self.interactions = interactions
        self.userIDs = userIDs
        self.itemIDs = itemIDs
        self.itemTitles = itemTitles
        self.itemReleaseTimes = itemReleaseTimes ?? Array(repeating: nil, count: itemCount)
        self.rawUserFeatures = rawUserFeatures
        self.rawItemFeatures = rawItemFeatures
        self.fileChecksums = fileChecksums
        self.skippedLines = skippedLines
        self.skipReport = skipReport
        self.duplicatesRemoved = duplicatesRemoved
        self.loadWarnings = loadWarnings
    }

    /// Internal index of an external user id (linear search; use `userLookup()` for many).
    public func userIndex(of external: String) -> Int32? { userIDs.firstIndex(of: external).map(Int32.init) }
    /// Internal index of an external item id (linear search; use `itemLookup()` for many).
    public func itemIndex(of external: String) -> Int32? { itemIDs.firstIndex(of: external).map(Int32.init) }

    /// Id → index dictionaries for repeated lookups (export/import).
    public func userLookup() -> [String: Int32] { Self.makeLookup(userIDs) }
    public func itemLookup() -> [String: Int32] { Self.makeLookup(itemIDs) }

    static func makeLookup(_ ids: [String]) -> [String: Int32] {
        var table = [String: Int32](minimumCapacity: ids.count)
        for (index, id) in ids.enumerated() { table[id] = Int32(index) }
        return table
    }
}
