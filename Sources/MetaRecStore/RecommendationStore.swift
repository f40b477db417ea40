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

/// One rating or click, as the model reads it (a click model's 0 or 1, a rating model's raw
/// value). `sequence` is the store's append order, increasing across the whole log (0 before
/// storing).
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

/// A user's adapted part under one model version, and the last feedback sequence it reflects:
/// a state whose `lastSequence` is behind the user's log, or of another version, is stale.
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
    public init(users: Int, feedback: Int, addedItems: Int, impressions: Int, adaptedStates: Int) {
        self.users = users
        self.feedback = feedback
        self.addedItems = addedItems
        self.impressions = impressions
        self.adaptedStates = adaptedStates
    }
}

// MARK: - Writes that may be retried

/// What a client's `Idempotency-Key` protects: the key, a digest of the request it came with
/// (method, path and body), and the answer to give a retry.
public struct IdempotentWrite: Sendable, Equatable {
    public var key: String
    public var requestDigest: String
    /// The first answer's body, returned as it was to every retry.
    public var response: Data
    public init(key: String, requestDigest: String, response: Data) {
        self.key = key
        self.requestDigest = requestDigest
        self.response = response
    }
}

/// A feedback batch to append in one transaction, with the states adapted from it.
public struct FeedbackBatch: Sendable {
    public var rows: [StoredFeedback]
    public var idempotency: IdempotentWrite?
    /// For each user the batch names: their state adapted from the log up to `basedOn` (the
    /// user's log head the service read) plus this batch's rows. The store saves it, with
    /// `lastSequence` set to the user's new head, only if the head is still `basedOn` when the
    /// transaction runs; otherwise another writer came between and the state is left to be
    /// adapted again from the log on the next read.
    public var states: [String: AdaptedFromBatch]
    /// Catalogue changes the batch causes (observations of new items), logged in the same
    /// transaction so that a batch and what it taught about new items land together.
    public var catalogue: [CatalogueChange]
    public init(
        rows: [StoredFeedback], idempotency: IdempotentWrite? = nil, states: [String: AdaptedFromBatch] = [:],
        catalogue: [CatalogueChange] = []
    ) {
        self.rows = rows
        self.idempotency = idempotency
        self.states = states
        self.catalogue = catalogue
    }
}

public struct AdaptedFromBatch: Sendable, Equatable {
    public var basedOn: Int64
    public var modelVersion: String
    public var values: [Float]
    public init(basedOn: Int64, modelVersion: String, values: [Float]) {
        self.basedOn = basedOn
        self.modelVersion = modelVersion
        self.values = values
    }
}

/// What became of a batch.
public enum AppendOutcome: Sendable, Equatable {
    /// Stored now: each user's new log head, and the users whose adapted state was saved with it.
    case stored(heads: [String: Int64], statesSaved: Set<String>)
    /// The same key and request were stored before: nothing written; the first answer.
    case replayed(response: Data)
    /// The key was used before for another request: nothing written.
    case keyReused
}

// MARK: - What every process must see

/// One change to the catalogue that every serving process applies in `sequence` order.
public struct CatalogueChange: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// `payload`: the ``StoredItem`` as JSON (id, title, features, addedAt).
        case added
        case hidden
        case shown
        /// `payload`: a model-specific observation of a new item (for the covariance head, the
        /// user's posterior and the target), applied in order by every process; `modelVersion` set.
        case observation
    }
    public var sequence: Int64
    public var kind: Kind
    public var item: String
    public var modelVersion: String?
    public var payload: Data
    public init(sequence: Int64 = 0, kind: Kind, item: String, modelVersion: String? = nil, payload: Data = Data()) {
        self.sequence = sequence
        self.kind = kind
        self.item = item
        self.modelVersion = modelVersion
        self.payload = payload
    }
}

/// A model bundle registered in the store. Its id is the SHA-256 of its bytes.
public struct PublishedModel: Sendable, Equatable {
    public var id: String
    /// Increases with every publish or rollback; the highest is the one that answers.
    public var sequence: Int64
    public var publishedAt: Date
    public var note: String
    public var byteCount: Int
    public init(id: String, sequence: Int64, publishedAt: Date, note: String, byteCount: Int) {
        self.id = id
        self.sequence = sequence
        self.publishedAt = publishedAt
        self.note = note
        self.byteCount = byteCount
    }
}

/// What the online learner reports at each check of a candidate: its progress and prequential
/// scores so far, the candidate's and the serving version's scores on held-back and replayed
/// users, and what became of the candidate. Stored as JSON, so a field added later needs no
/// migration (optional fields decode as nil from older rows).
extension RecommendationStore {
    /// Appends a learner report, keeping the newest ``LearnerReport/retained``.
    @discardableResult
    public func recordLearnerReport(_ report: LearnerReport) async throws -> Int64 {
        try await recordLearnerReport(report, keepingLatest: LearnerReport.retained)
    }
}

public struct LearnerReport: Sendable, Equatable, Codable {
    /// Reports a store keeps: at one check every five minutes, about five weeks of history
    /// (the dashboard shows the newest few hundred).
    public static let retained = 10_000

    public enum Outcome: String, Sendable, Codable {
        case published
        case refused
    }
    /// The store's order of reports (0 before storing).
    public var sequence: Int64 = 0
    public var recordedAt: Date
    public var outcome: Outcome
    /// The version the candidate was compared with (the one answering when it was checked).
    public var servingVersion: String
    /// The published version (outcome `published`).
    public var publishedVersion: String?
    /// Why it was refused, in words, and as a short label for metrics (`held_back_worse`, ...).
    public var reason: String?
    public var reasonLabel: String?
    /// The feedback sequence read through.
    public var through: Int64
    /// Users' tasks since the learner started: learned from, and held back (scored only).
    public var usersLearned: Int
    public var usersHeldBack: Int
    /// Tasks per second of the learner's busy time since it started (reading, scoring, learning).
    public var usersPerSecond: Double?
    /// Prequential scores of every task since the learner started, and of the most recent ones.
    /// GAUC: mean per-user AUC (ratings: relevant at 4 and above, clicks: 1), over users with both classes.
    public var streamGAUC: Double?
    public var streamMAE: Double?
    public var recentGAUC: Double?
    public var recentMAE: Double?
    /// Lower is better (MAE, or 1 − GAUC for clicks).
    public var candidateHeldOut: Double?
    public var servingHeldOut: Double?
    public var candidateReplay: Double?
    public var servingReplay: Double?
    /// Median seconds of one meta-update over the tasks since the last check.
    public var metaUpdateSeconds: Double?
    /// Candidates published and refused since the learner started (refused: by reason label).
    public var published: Int
    public var refused: [String: Int]
    public init(
        recordedAt: Date = Date(), outcome: Outcome, servingVersion: String, publishedVersion: String? = nil,
        reason: String? = nil, reasonLabel: String? = nil, through: Int64, usersLearned: Int, usersHeldBack: Int,
        usersPerSecond: Double? = nil, streamGAUC: Double? = nil, streamMAE: Double? = nil, recentGAUC: Double? = nil,
        recentMAE: Double? = nil, candidateHeldOut: Double? = nil, servingHeldOut: Double? = nil,
        candidateReplay: Double? = nil, servingReplay: Double? = nil, metaUpdateSeconds: Double? = nil,
        published: Int = 0, refused: [String: Int] = [:]
    ) {
        self.recordedAt = recordedAt
        self.outcome = outcome
        self.servingVersion = servingVersion
        self.publishedVersion = publishedVersion
        self.reason = reason
        self.reasonLabel = reasonLabel
        self.through = through
        self.usersLearned = usersLearned
        self.usersHeldBack = usersHeldBack
        self.usersPerSecond = usersPerSecond
        self.streamGAUC = streamGAUC
        self.streamMAE = streamMAE
        self.recentGAUC = recentGAUC
        self.recentMAE = recentMAE
        self.candidateHeldOut = candidateHeldOut
        self.servingHeldOut = servingHeldOut
        self.candidateReplay = candidateReplay
        self.servingReplay = servingReplay
        self.metaUpdateSeconds = metaUpdateSeconds
        self.published = published
        self.refused = refused
    }

    /// The JSON kept in the store (its `sequence` is the store's, set when read back).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(self)
    }

    public static func decoded(_ data: Data, sequence: Int64) throws -> LearnerReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        do {
            var report = try decoder.decode(LearnerReport.self, from: data)
            report.sequence = sequence
            return report
        } catch {
            throw StoreError("learner report \(sequence) cannot be read: \(error)")
        }
    }
}

/// What the service keeps: users, items added at run time and which items are hidden, the
/// feedback log (append-only), impressions, each user's adapted state, the published model
/// versions and shared secrets. Every method returns only once its write is durable.
///
/// Several processes may share one store (PostgreSQL): nothing here relies on a process's
/// memory. A batch and the states adapted from it commit together; a state is saved only if
/// it is not behind what is stored (compare-and-set on the log sequence), so concurrent
/// writers for one user lose nothing and never overwrite a newer state with an older one.
public protocol RecommendationStore: Sendable {
    func user(_ id: String) async throws -> StoredUser?
    /// Creates the user or replaces their features (keeping `createdAt`).
    func saveUser(_ user: StoredUser) async throws
    /// Erases the user, their feedback, impressions and adapted state; false if unknown.
    func deleteUser(_ id: String) async throws -> Bool

    /// Appends the batch, the idempotency record and the states in one transaction, all or
    /// nothing; users it names for the first time are created.
    func append(_ batch: FeedbackBatch) async throws -> AppendOutcome
    /// The user's highest feedback sequence (0 without feedback): what a state must reflect.
    func feedbackHead(user: String) async throws -> Int64
    /// The latest value of each item the user gave feedback on, for the `limit` most recently
    /// touched items, oldest first (a re-rated item appears once, at its latest sequence).
    func latestFeedback(user: String, limit: Int) async throws -> [StoredFeedback]
    /// Every row of the user's log, oldest first (re-ratings included).
    func feedbackLog(user: String) async throws -> [StoredFeedback]

    /// Feedback rows of every user with a sequence above `sequence`, in sequence order (at most
    /// `limit`): the log in arrival order, for the online learner (`metarec learn`). A reader
    /// that goes on from the last sequence it saw must never miss a row, so a store whose
    /// sequences can commit out of order returns only rows below the lowest uncommitted one.
    func feedback(after sequence: Int64, limit: Int) async throws -> [StoredFeedback]

    /// Takes, or renews, the one online learner's lock for `owner` until `duration` seconds from
    /// now: true if `owner` holds it afterwards, false while another owner holds an unexpired
    /// lock. One learner per store, so two never publish over each other's start.
    func tryLockLearner(owner: String, for duration: TimeInterval) async throws -> Bool
    /// Releases the learner lock if `owner` holds it (nothing otherwise).
    func releaseLearner(owner: String) async throws
    /// Every item the user has given feedback on.
    func ratedItems(user: String) async throws -> Set<String>

    func adaptedState(user: String) async throws -> StoredState?
    /// Saves the state unless the stored one is of the same version and newer
    /// (`lastSequence` greater); returns whether it was saved.
    @discardableResult
    func saveAdaptedState(_ state: StoredState, user: String) async throws -> Bool

    /// Adds an item added while serving, and logs the addition, unless an item with its id is
    /// stored already: then nothing is written and the answer is nil. One check-and-insert, so of
    /// two processes adding the same id at once exactly one adds it and the other learns so.
    func addItem(_ item: StoredItem) async throws -> Int64?
    /// Items added while serving, in the order they were added.
    func addedItems() async throws -> [StoredItem]
    func setHidden(item: String, _ hidden: Bool) async throws -> Int64
    func hiddenItems() async throws -> Set<String>
    /// Logs an observation of a new item; returns its sequence.
    func recordObservation(item: String, modelVersion: String, payload: Data) async throws -> Int64
    /// Catalogue changes after `sequence`, in order (at most `limit`).
    func catalogueChanges(after sequence: Int64, limit: Int) async throws -> [CatalogueChange]
    /// The last catalogue change's sequence (0 when none).
    func catalogueHead() async throws -> Int64

    func recordImpressions(user: String, items: [String], at: Date) async throws

    /// Registers a bundle's bytes (id: their SHA-256) and makes it the one that answers. Publishing
    /// bytes already stored makes that version current again (a rollback).
    func publishModel(_ bytes: Data, note: String) async throws -> PublishedModel
    /// The version that answers, nil before anything is published.
    func currentModel() async throws -> PublishedModel?
    func modelBytes(id: String) async throws -> Data?
    /// Every publish and rollback, newest first.
    func modelHistory(limit: Int) async throws -> [PublishedModel]

    // MARK: The online learner's publishing and reports (`metarec learn`)

    /// Publishes as ``publishModel(_:note:)`` does, but only if the version answering is still
    /// `expectedCurrent` (nil: nothing published yet), checked in the same transaction: a learner
    /// compared its candidate with that version, and must not publish over a version someone
    /// else published or rolled back to meanwhile. Nil (nothing written) when it changed.
    func publishModel(_ bytes: Data, note: String, expectedCurrent: String?) async throws -> PublishedModel?
    /// Appends one of the learner's reports (its figures at a check, and what became of the
    /// candidate) and drops all but the newest `keepingLatest`, in one transaction; returns its
    /// sequence. Kept in the store so that every replica's dashboard and `/metrics` show the same
    /// history, whichever process the learner runs in; bounded, so a learner checking every few
    /// minutes for years does not grow the store without end.
    @discardableResult
    func recordLearnerReport(_ report: LearnerReport, keepingLatest: Int) async throws -> Int64
    /// The most recent `limit` reports, newest first.
    func learnerReports(limit: Int) async throws -> [LearnerReport]

    /// The value of a named secret shared by every process, created at random on first use.
    func sharedSecret(name: String) async throws -> Data

    func counts() async throws -> StoreCounts
    /// Stored bytes of one user's adapted state row (payload plus the row's fixed fields).
    func storedStateBytes(user: String) async throws -> Int?
    func close() async throws

    // Issue 19: what a read of one user needs, in one round trip (``UserReading``).
    /// The user, the items they rated, their log's head and their stored state, read together
    /// (one snapshot, so the head and the state agree as of one moment); nil if the user is unknown.
    func userReading(_ id: String) async throws -> UserReading?
}

/// Everything a recommendation or question request reads of one user: one store round trip
/// instead of four (user, rated items, log head, state). The service serves `state` only when
/// it is of the answering model version at `feedbackHead` (``RecommendationStore``).
public struct UserReading: Sendable, Equatable {
    public var user: StoredUser
    public var rated: Set<String>
    /// The user's highest feedback sequence (0 without feedback).
    public var feedbackHead: Int64
    public var state: StoredState?
    public init(user: StoredUser, rated: Set<String>, feedbackHead: Int64, state: StoredState?) {
        self.user = user
        self.rated = rated
        self.feedbackHead = feedbackHead
        self.state = state
    }
}

/// Why the store cannot be opened or used.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The store cannot be reached or answered with an error it may not repeat (503 in the service).
        case unavailable
        /// Anything else.
        case failed
    }
    public var kind: Kind
    public var description: String
    public init(_ description: String, kind: Kind = .failed) {
        self.description = description
        self.kind = kind
    }
}
