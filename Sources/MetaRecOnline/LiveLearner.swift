import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import MetaRecStore

/// The online stage of "Learning to Recommend via Meta Parameter Partition" (Zhao et al.,
/// arXiv 1912.04108) run beside `metarec serve`: it reads the store's feedback log in arrival
/// order, turns each new user's first rows into a task (support: the first `supportSize`, query:
/// the next `querySize`), scores the query prequentially (the current start adapted on the
/// support, before anything is learned from the user), meta-updates the adaptive initialisation
/// with ``OnlineMetaLearner`` (the fixed part frozen), and every so often publishes the bundle
/// with the new start through the store, if a check on held-back users says it is not worse
/// than the version serving. Every serving process then moves to it (`LiveModel`).
///
/// Decisions, so a reader need not guess them:
/// - **Replay.** The reservoir starts with the training users the bundle keeps
///   (``ModelBundle/ReplayUsers``), so replay and the check against forgetting cover the users
///   the offline model learned from; streamed users then enter it by reservoir sampling. A
///   bundle without them (written before they were kept, or with `train --replay-users 0`)
///   starts it with the first streamed users.
/// - **Held back.** One user in `holdOutEvery` (by a stable hash of their id) is never learned
///   from: their tasks, the most recent `heldOutCapacity`, are what a candidate and the serving
///   version are compared on, beside the replay reservoir (a check against forgetting).
/// - **Resuming.** What the learner has read is the `through=` sequence in the note of the
///   version it published: the start in that bundle reflects exactly the users whose task was
///   complete by then. A restart resumes from the serving version's note (0 for a version the
///   learner did not publish: it has seen none of the stream); users learned after the last
///   publish are learned again. A user's task is their first rows in the log, so it is the same
///   task after a restart.
/// - **Rows.** Feedback on items outside the bundle's catalogue (added while serving) and values
///   the model does not read are skipped, as serving skips them; a re-rated item counts once, at
///   its first value (what was predicted before the user said it again).
///
/// ```swift
/// let learner = try await LiveLearner(store: store, bundle: bundle, options: .init()) { event in print(event) }
/// try await learner.run(once: true)
/// ```
public final class LiveLearner: @unchecked Sendable {
    public struct Options: Sendable {
        /// Rows a task adapts on: the protocol's smallest support (a task has at least 13 rows).
        public var supportSize = 3
        /// Rows a task is scored on: the protocol's query size.
        public var querySize = 10
        /// A candidate is built and checked after this many new users' tasks...
        public var everyUsers = 50
        /// ...or after this many seconds, whichever comes first (when a task arrived since).
        public var everySeconds: Double = 300
        /// How much worse (MAE, or 1 − GAUC for clicks) a candidate may score than the serving
        /// version and still be published; negative asks for an improvement of at least that much.
        public var margin = 0.0
        /// One user in this many is held back from learning, for the checks. 0 holds back none:
        /// every user is learned from and scored, and no version is published, since there is no
        /// held-back user to check one on (a dry run, as `Scripts/learn-replay.sh` uses to score a
        /// stream). 1 would hold back everyone, so it is refused.
        public var holdOutEvery = 5
        /// The most recent held-back tasks kept for the checks.
        public var heldOutCapacity = 64
        /// Replayed tasks scored in the check against forgetting.
        public var replayChecked = 64
        /// Rows read from the store at a time.
        public var readLimit = 1000
        /// Seconds between polls once the log is read to its end.
        public var pollSeconds: Double = 1
        /// Seconds the learner lock lasts unless renewed (it is renewed on every read).
        public var lockSeconds: Double = 120
        /// Most recent tasks the "recent" stream scores are computed over.
        public var recentWindow = 100
        public var online = OnlineMetaLearner.Options()
        public init() {}
    }

    /// Scores of a candidate and of the serving version on the same tasks, lower is better.
    public struct Evaluation: Sendable, Equatable {
        public var candidateHeldOut: Double
        public var servingHeldOut: Double
        public var candidateReplay: Double
        public var servingReplay: Double
        public var heldOutTasks: Int
        public var replayTasks: Int
    }

    /// What the learner did, for a command line or a log to render.
    public enum Event: Sendable {
        /// Learning from `version`, reading the log after `position`.
        case started(version: String, position: Int64)
        /// One user's task: their query predicted before learning (`heldOut`: and not learned
        /// from); `score` the task's MAE or 1 − AUC (nil when undefined: one class only).
        case task(user: String, sequence: Int64, heldOut: Bool, predictions: [Float], score: Double?)
        case published(PublishedModel, Evaluation)
        /// A candidate was not published, and why.
        case refused(reason: String, Evaluation?)
        /// The figures recorded in the store at a check (for the dashboard and `/metrics`).
        case reported(LearnerReport)
        /// Another version was published meanwhile; the learner starts again from it.
        case rebased(version: String)
        /// A user whose rows cannot make a task (features this model cannot read): not learned from.
        case skipped(user: String, reason: String)
        /// The log is read to its end at `position`.
        case caughtUp(position: Int64)
    }

    public let store: any RecommendationStore
    public let options: Options
    /// Names this learner in the store's lock.
    public let owner: String
    private let events: @Sendable (Event) -> Void

    private var serving: ModelBundle
    private var objective: Objective = .rating
    private var online: OnlineMetaLearner
    private var catalogueRows: [String: Int32] = [:]
    private var itemTable: FeatureTable
    private var position: Int64 = 0
    private var startPosition: Int64 = 0
    private var pending: [String: [StoredFeedback]] = [:]
    private var done: Set<String> = []
    private var heldOut: [PreparedTask] = []
    private var tasksSinceCheck = 0
    private var learnedSinceCheck = 0
    private var lastCheck = ContinuousClock.now
    /// Stream scores, pace and outcomes since this learner started (kept across rebases).
    public private(set) var figures: LearnerFigures
    /// When the current read began (nil while waiting for feedback): busy time not yet in `figures`.
    private var busySince: ContinuousClock.Instant?

    /// Learns from the version the store serves, or publishes `bundle` first when the store
    /// serves nothing yet. Refuses a bundle that cannot learn online (``LiveLearnerError``).
    public init(
        store: any RecommendationStore, bundle: ModelBundle? = nil, options: Options = .init(),
        owner: String =
            "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))",
        events: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws {
        guard options.supportSize >= 1, options.querySize >= 1 else {
            throw LiveLearnerError.invalidOptions("support and query sizes must be at least 1")
        }
        guard options.everyUsers >= 1, options.everySeconds > 0 else {
            throw LiveLearnerError.invalidOptions("--every-users must be at least 1 and --every-seconds positive")
        }
        guard options.holdOutEvery == 0 || options.holdOutEvery >= 2 else {
            throw LiveLearnerError.invalidOptions(
                "--hold-out-every must be 0 (hold back nobody and publish nothing) or at least 2, not \(options.holdOutEvery)"
            )
        }
        guard options.online.replayTasks >= 0,
            options.online.replayWeight.map({ $0 >= 0 && $0 < 1 }) ?? true
        else {
            throw LiveLearnerError.invalidOptions(
                "--replay must be at least 0 and --replay-weight in [0, 1), not \(options.online.replayTasks) and \(options.online.replayWeight.map { "\($0)" } ?? "none")"
            )
        }
        self.store = store
        self.options = options
        self.owner = owner
        self.events = events
        var base = bundle
        if let current = try await store.currentModel() {
            base = try await Self.load(current.id, from: store)
        }
        guard let base else { throw LiveLearnerError.noModel }
        let adopted = try Self.adopt(base, options: options)
        (serving, online, itemTable, catalogueRows, objective) = adopted
        figures = LearnerFigures(objective: adopted.objective, recentWindow: options.recentWindow)
        try await reset(to: base)
    }

    /// Reads the log and learns until it is read to its end (`once`) or the task is cancelled,
    /// holding the store's learner lock throughout.
    public func run(once: Bool) async throws {
        guard try await store.tryLockLearner(owner: owner, for: options.lockSeconds) else {
            throw LiveLearnerError.locked
        }
        do {
            try await loop(once: once)
        } catch is CancellationError {
        } catch {
            try? await release()
            throw error
        }
        try await release()
    }

    /// Releases the lock outside this task: a cancelled task's store calls are refused (GRDB
    /// checks cancellation), and a stopped learner must not keep the lock until it lapses.
    private func release() async throws {
        let (store, owner) = (self.store, self.owner)
        try await Task { try await store.releaseLearner(owner: owner) }.value
    }

    private func loop(once: Bool) async throws {
        if let current = try await store.currentModel() {
            // Published since this learner was made (or since its last run): follow it.
            if current.id != serving.version { try await rebase(to: current.id) }
        } else {
            // Nothing published yet: the start goes first, as `serve` publishes its model, unless
            // a server published its own meanwhile.
            if let published = try await store.publishModel(
                try serving.serialized(), note: "metarec learn: the start", expectedCurrent: nil)
            {
                serving = try await Self.load(published.id, from: store)
            } else if let current = try await store.currentModel() {
                try await rebase(to: current.id)
            }
        }
        events(.started(version: serving.version, position: position))
        var reported: Int64 = -1
        while true {
            try Task.checkCancellation()
            guard try await store.tryLockLearner(owner: owner, for: options.lockSeconds) else {
                // A store call cut short by a stop must not read as a lost lock.
                try Task.checkCancellation()
                throw LiveLearnerError.lockLost
            }
            busySince = .now
            let rows = try await store.feedback(after: position, limit: options.readLimit)
            for row in rows {
                try await ingest(row)
                position = row.sequence
                if tasksSinceCheck >= options.everyUsers, try await check() { break }
            }
            figures.addBusy(seconds: Self.seconds(since: busySince))
            busySince = nil
            let atEnd = rows.count < options.readLimit
            if tasksSinceCheck > 0
                && ((once && atEnd) || ContinuousClock.now - lastCheck >= .seconds(options.everySeconds))
            {
                try await check()
            }
            if atEnd {
                if position != reported { events(.caughtUp(position: position)) }
                reported = position
                if once { return }
                try await Task.sleep(for: .seconds(options.pollSeconds))
            }
        }
    }

    /// The start and position of `bundle`: the learner's note says how far it had read.
    private func reset(to bundle: ModelBundle) async throws {
        let note = try await store.modelHistory(limit: 1).first { $0.id == bundle.version }?.note ?? ""
        position = Self.position(inNote: note) ?? 0
        startPosition = position
        pending = [:]
        done = []
        heldOut = []
        tasksSinceCheck = 0
        learnedSinceCheck = 0
        lastCheck = .now
    }

    // MARK: - Rows to tasks

    private func ingest(_ row: StoredFeedback) async throws {
        guard !done.contains(row.user) else { return }
        var rows: [StoredFeedback]
        if let known = pending[row.user] {
            rows = known
        } else {
            // First sight in this run: rows up to the resume point were read before a restart.
            rows =
                startPosition > 0
                ? try await store.feedbackLog(user: row.user).filter { $0.sequence <= startPosition } : []
            if usable(rows).count >= options.supportSize + options.querySize {
                done.insert(row.user)
                return
            }
        }
        rows.append(row)
        let task = usable(rows)
        guard task.count >= options.supportSize + options.querySize else {
            pending[row.user] = rows
            return
        }
        pending[row.user] = nil
        done.insert(row.user)
        try await learn(user: row.user, rows: task, sequence: row.sequence)
    }

    /// The rows a task can hold: catalogue items, values the model reads, each item once.
    private func usable(_ rows: [StoredFeedback]) -> [(row: Int32, value: Float)] {
        let scale = serving.description.feedback
        var seen: Set<String> = []
        var kept: [(row: Int32, value: Float)] = []
        for row in rows {
            guard let index = catalogueRows[row.item], scale.contains(row.value), seen.insert(row.item).inserted
            else { continue }
            kept.append((index, scale.target(row.value)))
        }
        return kept
    }

    private func learn(user: String, rows: [(row: Int32, value: Float)], sequence: Int64) async throws {
        let userTable: FeatureTable
        do {
            let stored = try await store.user(user)
            let features = try JSONDecoder().decode(
                [String: FeatureValue].self, from: stored?.features ?? Data("{}".utf8))
            let encoder = serving.description.userEncoder
            userTable = encoder.encode(try encoder.rawFeatures(features, side: "user"), count: 1)
        } catch let error as StoreError {
            throw error
        } catch {
            events(.skipped(user: user, reason: "features cannot be read: \(error)"))
            return
        }
        let task = Self.task(
            user: userTable, rows: Array(rows.prefix(options.supportSize + options.querySize)),
            supportCount: options.supportSize, items: itemTable)
        let held = isHeldOut(user)
        let predictions: [Float]
        if held {
            predictions = online.learner.predict(task)
            heldOut.append(task)
            if heldOut.count > options.heldOutCapacity { heldOut.removeFirst(heldOut.count - options.heldOutCapacity) }
            figures.record(predictions: predictions, targets: task.queryTargets.values, updateSeconds: nil)
        } else {
            let step = online.process(task)  // predicted inside, before the meta-update
            predictions = step.predictions
            learnedSinceCheck += 1
            figures.record(
                predictions: predictions, targets: task.queryTargets.values, updateSeconds: step.updateSeconds)
        }
        tasksSinceCheck += 1
        let score = selectionScore([task], objective: objective, threads: 1) { _ in predictions }
        events(
            .task(
                user: user, sequence: sequence, heldOut: held, predictions: predictions,
                score: score.isNaN ? nil : score))
    }

    /// A stable choice (FNV-1a of the id), so a restart holds back the same users.
    private func isHeldOut(_ user: String) -> Bool {
        guard options.holdOutEvery > 0 else { return false }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in user.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash % UInt64(options.holdOutEvery) == 0
    }

    // MARK: - Candidates

    /// Builds the candidate, compares it with the serving version, and publishes it or says why not.
    /// - Returns: whether the learner started again from another version (the batch being read is then stale).
    @discardableResult
    private func check() async throws -> Bool {
        defer {
            tasksSinceCheck = 0
            lastCheck = .now
        }
        let current = try await store.currentModel()
        if let current, current.id != serving.version {
            // Someone published another version: follow it, as every serving process does.
            try await rebase(to: current.id)
            return true
        }
        defer { figures.clearUpdateSeconds() }
        guard learnedSinceCheck > 0 else {
            try await refuse("nothing_learned", "no user was learned from since the last check (all held back)", nil)
            return false
        }
        let (candidate, bytes) = try self.candidate()
        guard candidate.version != serving.version else {
            try await refuse("unchanged", "the start did not change", nil)
            return false
        }
        guard !heldOut.isEmpty else {
            try await refuse("no_held_back", "no held-back user's task yet to check the candidate on", nil)
            return false
        }
        let evaluation = try evaluate(candidate)
        let scores = [
            evaluation.candidateHeldOut, evaluation.servingHeldOut, evaluation.candidateReplay,
            evaluation.servingReplay,
        ]
        if evaluation.replayTasks == 0 || scores.contains(where: { !$0.isFinite }) {
            try await refuse(
                "undefined", "the scores are undefined (held-back tasks with one class only?)", evaluation)
            return false
        }
        let worse = objective == .click ? "1 − GAUC" : "MAE"
        if evaluation.candidateHeldOut > evaluation.servingHeldOut + options.margin {
            try await refuse(
                "held_back_worse",
                "held-back \(worse) \(Self.format(evaluation.candidateHeldOut)) against \(Self.format(evaluation.servingHeldOut)) serving (margin \(options.margin))",
                evaluation)
            return false
        }
        if evaluation.candidateReplay > evaluation.servingReplay + options.margin {
            try await refuse(
                "replay_worse",
                "replayed users' \(worse) \(Self.format(evaluation.candidateReplay)) against \(Self.format(evaluation.servingReplay)) serving (margin \(options.margin)): it forgets",
                evaluation)
            return false
        }
        let note =
            "metarec learn through=\(position) learned=\(learnedSinceCheck) heldout=\(Self.format(evaluation.candidateHeldOut)) serving=\(Self.format(evaluation.servingHeldOut)) from=\(serving.version.prefix(12))"
        guard let published = try await store.publishModel(bytes, note: note, expectedCurrent: serving.version)
        else {
            // Published or rolled back between the check above and now: the comparison no longer
            // holds, and the learner starts again from what serves.
            try await refuse(
                "current_changed",
                "another version was published while the candidate was checked against \(serving.version.prefix(12))",
                evaluation)
            if let current = try await store.currentModel() { try await rebase(to: current.id) }
            return true
        }
        let servingVersion = serving.version
        serving = candidate
        learnedSinceCheck = 0
        figures.recordPublished()
        events(.published(published, evaluation))
        try await report(.published, serving: servingVersion, published: published.id, evaluation: evaluation)
        return false
    }

    /// Says why the candidate is not published, and records it.
    private func refuse(_ label: String, _ reason: String, _ evaluation: Evaluation?) async throws {
        figures.recordRefused(label: label)
        events(.refused(reason: reason, evaluation))
        try await report(.refused, serving: serving.version, reason: (reason, label), evaluation: evaluation)
    }

    /// Records the figures at a check in the store: what the dashboard plots and `/metrics` shows.
    private func report(
        _ outcome: LearnerReport.Outcome, serving: String, published: String? = nil,
        reason: (text: String, label: String)? = nil, evaluation: Evaluation?
    ) async throws {
        let report = LearnerReport(
            outcome: outcome, servingVersion: serving, publishedVersion: published, reason: reason?.text,
            reasonLabel: reason?.label, through: position, usersLearned: figures.usersLearned,
            usersHeldBack: figures.usersHeldBack,
            usersPerSecond: figures.usersPerSecond(busyAlso: Self.seconds(since: busySince)),
            streamGAUC: figures.streamGAUC, streamMAE: figures.streamMAE, recentGAUC: figures.recentGAUC,
            recentMAE: figures.recentMAE, candidateHeldOut: evaluation?.candidateHeldOut.finite,
            servingHeldOut: evaluation?.servingHeldOut.finite, candidateReplay: evaluation?.candidateReplay.finite,
            servingReplay: evaluation?.servingReplay.finite, metaUpdateSeconds: figures.pendingUpdateSeconds,
            published: figures.published, refused: figures.refused)
        try await store.recordLearnerReport(report)
        events(.reported(report))
    }

    private static func seconds(since start: ContinuousClock.Instant?) -> Double {
        guard let start else { return 0 }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Starts again from a version published by someone else: its start, its position.
    private func rebase(to id: String) async throws {
        let next = try await Self.load(id, from: store)
        (serving, online, itemTable, catalogueRows, objective) = try Self.adopt(next, options: options)
        try await reset(to: next)
        events(.rebased(version: next.version))
    }

    /// The serving bundle with the adaptive initialisation replaced by the online one.
    /// Its bytes are what is published, so its version is the published id.
    private func candidate() throws -> (ModelBundle, Data) {
        var bundle = serving
        bundle.archive.parameters = online.learner.parameters.copied()
        do {
            let bytes = try bundle.serialized()
            return (try ModelBundle(bytes: bytes, source: URL(fileURLWithPath: "candidate")), bytes)
        } catch {
            throw LiveLearnerError.candidateUnfit("\(error)")
        }
    }

    private func evaluate(_ candidate: ModelBundle) throws -> Evaluation {
        guard let next = try candidate.archive.predictor() as? MetaLearner,
            let now = try serving.archive.predictor() as? MetaLearner
        else { throw LiveLearnerError.candidateUnfit("the candidate or the serving bundle is not a meta-learner") }
        var random = SeededGenerator(seed: options.online.seed).derived("check")
        let reservoir = online.replayReservoir
        let replay =
            reservoir.count <= options.replayChecked
            ? reservoir : random.sample(options.replayChecked, from: reservoir.count).map { reservoir[$0] }
        func score(_ learner: MetaLearner, _ tasks: [PreparedTask]) -> Double {
            tasks.isEmpty ? .nan : selectionScore(tasks, objective: objective, threads: 1, learner.predict)
        }
        return Evaluation(
            candidateHeldOut: score(next, heldOut), servingHeldOut: score(now, heldOut),
            candidateReplay: score(next, replay), servingReplay: score(now, replay), heldOutTasks: heldOut.count,
            replayTasks: replay.count)
    }

    // MARK: - Loading

    private static func load(_ id: String, from store: any RecommendationStore) async throws -> ModelBundle {
        guard let bytes = try await store.modelBytes(id: id) else { throw LiveLearnerError.missingModel(id) }
        do {
            return try ModelBundle(bytes: bytes, source: URL(fileURLWithPath: "store:model/\(id.prefix(12))"))
        } catch {
            throw LiveLearnerError.unfit(id, "\(error)")
        }
    }

    /// Everything the learner keeps of the bundle it learns from (at start and at each rebase).
    private static func adopt(_ bundle: ModelBundle, options: Options) throws -> (
        serving: ModelBundle, online: OnlineMetaLearner, items: FeatureTable, rows: [String: Int32],
        objective: Objective
    ) {
        let (learner, table) = try learner(of: bundle, options: options)
        return (bundle, learner, table, rows(of: bundle), learner.learner.model.configuration.objective)
    }

    /// The online learner over a bundle's meta-learner; anything else cannot learn online.
    private static func learner(of bundle: ModelBundle, options: Options) throws -> (OnlineMetaLearner, FeatureTable) {
        let kind = bundle.archive.header.kind
        guard kind == .metaLearner else { throw LiveLearnerError.notMetaLearner(kind.rawValue) }
        let predictor: ColdStartPredictor
        var archive = bundle.archive
        // A copy: the online stage updates its tensors in place, and the serving bundle must stay as published.
        archive.parameters = archive.parameters.copied()
        do {
            predictor = try archive.predictor()
        } catch {
            throw LiveLearnerError.unfit(bundle.version, "\(error)")
        }
        guard let learner = predictor as? MetaLearner else { throw LiveLearnerError.notMetaLearner(kind.rawValue) }
        let online = OnlineMetaLearner(offline: learner, options: options.online)
        guard !online.adaptiveNames.isEmpty else {
            throw LiveLearnerError.noAdaptivePart(learner.options.adaptation.partition.description)
        }
        let catalogue = bundle.description.catalogue
        let items = bundle.description.itemEncoder.encode(catalogue.rawFeatures, count: catalogue.ids.count)
        online.seedReplay(with: replayTasks(of: bundle, items: items))
        return (online, items)
    }

    /// The bundle's training users as tasks (a user whose features this encoder cannot read is left out).
    static func replayTasks(of bundle: ModelBundle, items: FeatureTable) -> [PreparedTask] {
        let encoder = bundle.description.userEncoder
        return (bundle.description.replayUsers?.tasks ?? []).compactMap { kept in
            guard kept.supportCount < kept.items.count, let raw = try? encoder.rawFeatures(kept.features, side: "user")
            else { return nil }
            return task(
                user: encoder.encode(raw, count: 1), rows: zip(kept.items, kept.values).map { ($0, $1) },
                supportCount: kept.supportCount, items: items)
        }
    }

    /// One user's task: their rows in order (catalogue row, value), the first `supportCount` to adapt on.
    private static func task(
        user: FeatureTable, rows: [(row: Int32, value: Float)], supportCount: Int, items: FeatureTable
    ) -> PreparedTask {
        let interactions = rows.enumerated().map {
            Interaction(user: 0, item: $1.row, value: $1.value, timestamp: Int64($0))
        }
        return PreparedTask(
            userBatch: EntityBatch(user, entities: [0]), support: Array(interactions.prefix(supportCount)),
            query: Array(interactions.dropFirst(supportCount)), features: FeatureContext(users: user, items: items))
    }

    /// Catalogue row of each item id (the first, should an id repeat).
    private static func rows(of bundle: ModelBundle) -> [String: Int32] {
        Dictionary(
            bundle.description.catalogue.ids.enumerated().map { ($1, Int32($0)) },
            uniquingKeysWith: { first, _ in first })
    }

    /// The `through=` sequence of a note the learner wrote; nil for any other note.
    public static func position(inNote note: String) -> Int64? {
        guard note.hasPrefix("metarec learn ") else { return nil }
        for word in note.split(separator: " ") where word.hasPrefix("through=") {
            return Int64(word.dropFirst("through=".count))
        }
        return nil
    }

    static func format(_ value: Double) -> String { String(format: "%.4f", value) }
}

extension Double {
    /// Nil for NaN and infinities: JSON has no place for them.
    fileprivate var finite: Double? { isFinite ? self : nil }
}

/// Why the learner cannot start or go on.
public enum LiveLearnerError: Error, CustomStringConvertible, Equatable {
    case notMetaLearner(String)
    case noAdaptivePart(String)
    case noModel
    case missingModel(String)
    case unfit(String, String)
    case candidateUnfit(String)
    case locked
    case lockLost
    case invalidOptions(String)

    public var description: String {
        switch self {
        case .notMetaLearner(let kind):
            return
                "a \(kind) bundle cannot learn online: only meta-learner bundles (maml, fomaml, meta-sgd) have the parameter partition whose adaptive start the online stage updates"
        case .noAdaptivePart(let partition):
            return "the bundle's partition (\(partition)) leaves no parameter adaptive: nothing to learn online"
        case .noModel: return "the store serves no model yet: give the bundle to start from (--model)"
        case .missingModel(let id): return "the store lists model \(id.prefix(12)) but holds no bytes for it"
        case .unfit(let id, let reason): return "model \(id.prefix(12)) cannot be loaded: \(reason)"
        case .candidateUnfit(let reason): return "the candidate bundle cannot be built: \(reason)"
        case .locked: return "another learner holds this store's learner lock: one learner per store"
        case .lockLost: return "the learner lock was lost (expired and taken by another learner): stopping"
        case .invalidOptions(let reason): return reason
        }
    }
}
