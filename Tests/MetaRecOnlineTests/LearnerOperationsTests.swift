import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import MetaRecOnline
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// A store whose compare-and-set publish finds, once, that someone else published just before it
/// (a rollback by an operator, or another tool): the race the learner must not lose silently.
final class RivalPublishingStore: RecommendationStore, @unchecked Sendable {
    let base: SQLiteStore
    let rival: Data
    private let lock = NSLock()
    private var raced = false

    init(base: SQLiteStore, rival: Data) {
        self.base = base
        self.rival = rival
    }

    func publishModel(_ bytes: Data, note: String, expectedCurrent: String?) async throws -> PublishedModel? {
        // The learner's first publish is its start (expecting nothing); the race is on a candidate.
        let first = lock.withLock {
            guard !raced, expectedCurrent != nil else { return false }
            raced = true
            return true
        }
        if first { _ = try await base.publishModel(rival, note: "rival") }
        return try await base.publishModel(bytes, note: note, expectedCurrent: expectedCurrent)
    }

    func user(_ id: String) async throws -> StoredUser? { try await base.user(id) }
    func saveUser(_ user: StoredUser) async throws { try await base.saveUser(user) }
    func deleteUser(_ id: String) async throws -> Bool { try await base.deleteUser(id) }
    func append(_ batch: FeedbackBatch) async throws -> AppendOutcome { try await base.append(batch) }
    func feedbackHead(user: String) async throws -> Int64 { try await base.feedbackHead(user: user) }
    func latestFeedback(user: String, limit: Int) async throws -> [StoredFeedback] {
        try await base.latestFeedback(user: user, limit: limit)
    }
    func feedbackLog(user: String) async throws -> [StoredFeedback] { try await base.feedbackLog(user: user) }
    func feedback(after sequence: Int64, limit: Int) async throws -> [StoredFeedback] {
        try await base.feedback(after: sequence, limit: limit)
    }
    func tryLockLearner(owner: String, for duration: TimeInterval) async throws -> Bool {
        try await base.tryLockLearner(owner: owner, for: duration)
    }
    func releaseLearner(owner: String) async throws { try await base.releaseLearner(owner: owner) }
    func ratedItems(user: String) async throws -> Set<String> { try await base.ratedItems(user: user) }
    func adaptedState(user: String) async throws -> StoredState? { try await base.adaptedState(user: user) }
    func userReading(_ id: String) async throws -> UserReading? { try await base.userReading(id) }
    func saveAdaptedState(_ state: StoredState, user: String) async throws -> Bool {
        try await base.saveAdaptedState(state, user: user)
    }
    func addItem(_ item: StoredItem) async throws -> Int64? { try await base.addItem(item) }
    func addedItems() async throws -> [StoredItem] { try await base.addedItems() }
    func setHidden(item: String, _ hidden: Bool) async throws -> Int64 { try await base.setHidden(item: item, hidden) }
    func hiddenItems() async throws -> Set<String> { try await base.hiddenItems() }
    func recordObservation(item: String, modelVersion: String, payload: Data) async throws -> Int64 {
        try await base.recordObservation(item: item, modelVersion: modelVersion, payload: payload)
    }
    func catalogueChanges(after sequence: Int64, limit: Int) async throws -> [CatalogueChange] {
        try await base.catalogueChanges(after: sequence, limit: limit)
    }
    func catalogueHead() async throws -> Int64 { try await base.catalogueHead() }
    func recordImpressions(user: String, items: [String], at: Date) async throws {
        try await base.recordImpressions(user: user, items: items, at: at)
    }
    func publishModel(_ bytes: Data, note: String) async throws -> PublishedModel {
        try await base.publishModel(bytes, note: note)
    }
    func currentModel() async throws -> PublishedModel? { try await base.currentModel() }
    func modelBytes(id: String) async throws -> Data? { try await base.modelBytes(id: id) }
    func modelHistory(limit: Int) async throws -> [PublishedModel] { try await base.modelHistory(limit: limit) }
    func recordLearnerReport(_ report: LearnerReport, keepingLatest: Int) async throws -> Int64 {
        try await base.recordLearnerReport(report, keepingLatest: keepingLatest)
    }
    func learnerReports(limit: Int) async throws -> [LearnerReport] { try await base.learnerReports(limit: limit) }
    func sharedSecret(name: String) async throws -> Data { try await base.sharedSecret(name: name) }
    func counts() async throws -> StoreCounts { try await base.counts() }
    func storedStateBytes(user: String) async throws -> Int? { try await base.storedStateBytes(user: user) }
    func close() async throws { try await base.close() }
}

/// The learner in operation: its figures (in the store, for the dashboard and `/metrics`) and
/// its compare-and-set publish.
struct LearnerOperationsTests {
    @Test func theFiguresAfterARunAreTheStreamsPrequentialScoresAndReachMetrics() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let offline = try ModelBundle(contentsOf: url)
        let store = try LiveLearnerTests.store()
        let stream = FeedbackStream(users: 18)
        try await stream.append(to: store)
        let log = EventLog()
        var options = LiveLearnerTests.options(margin: 10)
        options.recentWindow = 5
        let learner = try await LiveLearner(store: store, bundle: offline, options: options) { log.append($0) }
        try await learner.run(once: true)

        // The same scores from the task events and the stream's own values (the query: rows 4 to 13).
        let tasks = log.tasks
        let targets = Dictionary(uniqueKeysWithValues: stream.users.map { ($0.id, $0.rows.dropFirst(3).map(\.value)) })
        var errors: [Double] = []
        var aucs: [Double?] = []
        for task in tasks {
            let values = try #require(targets[task.user])
            errors.append(Metrics.meanAbsoluteError(task.predictions, values))
            aucs.append(Metrics.areaUnderCurve(task.predictions, values.map { $0 >= 4 ? 1 : 0 }))
        }
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }

        let reports = try await store.learnerReports(limit: 10)
        let report = try #require(reports.first)
        #expect(reports.count == 1, "one check, at the end of the log")
        #expect(report.outcome == .published)
        #expect(report.publishedVersion == (try await store.currentModel())?.id)
        #expect(report.servingVersion == offline.version)
        #expect(report.usersLearned == tasks.filter { !$0.heldOut }.count)
        #expect(report.usersHeldBack == tasks.filter(\.heldOut).count)
        #expect(report.usersLearned + report.usersHeldBack == 18)
        #expect(report.through == Int64((try await store.counts()).feedback))
        let streamMAE = try #require(report.streamMAE)
        #expect(abs(streamMAE - mean(errors)!) < 1e-9)
        let recentMAE = try #require(report.recentMAE)
        #expect(abs(recentMAE - mean(Array(errors.suffix(5)))!) < 1e-9)
        if let expected = mean(aucs.compactMap { $0 }) {
            #expect(abs((report.streamGAUC ?? .nan) - expected) < 1e-9)
        } else {
            #expect(report.streamGAUC == nil)
        }
        if let expected = mean(aucs.suffix(5).compactMap { $0 }) {
            #expect(abs((report.recentGAUC ?? .nan) - expected) < 1e-9)
        }
        let (_, evaluation) = try #require(log.published.first)
        #expect(report.candidateHeldOut == evaluation.candidateHeldOut)
        #expect(report.servingReplay == evaluation.servingReplay)
        #expect((report.metaUpdateSeconds ?? 0) > 0)
        #expect((report.usersPerSecond ?? 0) > 0)
        #expect(report.published == 1 && report.refused.isEmpty)
        #expect(learner.figures.usersLearned == report.usersLearned)
        #expect(learner.figures.summary.contains("learned \(report.usersLearned) users"))

        // What a replica's /metrics shows, from that report.
        let metrics = ServerMetrics()
        metrics.record(learner: report)
        let text = metrics.exposition()
        #expect(text.contains("metarec_learner_users_learned \(Double(report.usersLearned))"))
        #expect(text.contains("metarec_learner_versions_published 1.0"))
        #expect(text.contains("metarec_learner_stream_mae{window=\"cumulative\"} \(streamMAE)"))
        #expect(text.contains("metarec_learner_held_back_score{version=\"candidate\"} \(evaluation.candidateHeldOut)"))
        #expect(text.contains("metarec_learner_meta_update_seconds "))
        try await store.close()
    }

    @Test func everyCheckDuringARunIsReportedWithItsPace() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let store = try LiveLearnerTests.store()
        try await FeedbackStream(users: 18).append(to: store)
        var options = LiveLearnerTests.options(margin: 10)
        options.everyUsers = 4
        // Checks come in the middle of one read of the log: the pace counts the read so far.
        try await LiveLearner(store: store, bundle: try ModelBundle(contentsOf: url), options: options).run(once: true)
        let reports = Array(try await store.learnerReports(limit: 100).reversed())
        #expect(reports.count == 5, "after users 4, 8, 12, 16, and the last 2")
        #expect(reports.map { $0.usersLearned + $0.usersHeldBack } == [4, 8, 12, 16, 18])
        #expect(reports.allSatisfy { ($0.usersPerSecond ?? 0) > 0 })
        #expect(reports.map(\.through) == reports.map(\.through).sorted())
        #expect(reports.last?.published == reports.filter { $0.outcome == .published }.count)
        try await store.close()
    }

    @Test func aRefusalIsReportedWithItsReasonLabel() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let store = try LiveLearnerTests.store()
        try await FeedbackStream(users: 9).append(to: store)
        try await LiveLearner(
            store: store, bundle: try ModelBundle(contentsOf: url), options: LiveLearnerTests.options(margin: -10)
        ).run(once: true)
        let report = try #require(try await store.learnerReports(limit: 10).first)
        #expect(report.outcome == .refused)
        #expect(report.reasonLabel == "held_back_worse")
        #expect(report.reason?.contains("held-back MAE") == true)
        #expect(report.refused == ["held_back_worse": 1])
        let metrics = ServerMetrics()
        metrics.record(learner: report)
        #expect(metrics.exposition().contains("metarec_learner_versions_refused{reason=\"held_back_worse\"} 1.0"))
        try await store.close()
    }

    @Test func theLearnerDoesNotPublishOverAVersionPublishedWhileItChecked() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let offline = try ModelBundle(contentsOf: url)
        let base = try LiveLearnerTests.store()
        // The rival: another meta-learner bundle (no new-item generator), so other bytes.
        let rival = try Data(contentsOf: try ServingFixture.metaLearnerBundle(generator: false).2)
        #expect(try ModelBundle(bytes: rival, source: url).version != offline.version)
        let store = RivalPublishingStore(base: base, rival: rival)
        try await FeedbackStream(users: 18).append(to: base)
        let log = EventLog()
        let learner = try await LiveLearner(
            store: store, bundle: offline, options: LiveLearnerTests.options(margin: 10)
        ) {
            log.append($0)
        }
        try await learner.run(once: true)
        // The candidate, checked against the offline start, was not published over the rival:
        // the rival answers, and the learner follows it.
        #expect(try await base.modelHistory(limit: 10).map(\.note) == ["rival", "metarec learn: the start"])
        #expect(log.refusals.contains { $0.contains("another version was published") })
        #expect(log.events.contains { if case .rebased = $0 { true } else { false } })
        let reports = try await base.learnerReports(limit: 10)
        #expect(reports.contains { $0.reasonLabel == "current_changed" && $0.servingVersion == offline.version })
        try await base.close()
    }
}
