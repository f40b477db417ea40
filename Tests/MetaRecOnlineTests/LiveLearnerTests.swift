import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import MetaRecOnline
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// Events a learner reported, kept for the checks.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [LiveLearner.Event] = []
    func append(_ event: LiveLearner.Event) { lock.withLock { stored.append(event) } }
    var events: [LiveLearner.Event] { lock.withLock { stored } }

    var tasks: [(user: String, heldOut: Bool, predictions: [Float])] {
        events.compactMap {
            if case .task(let user, _, let heldOut, let predictions, _) = $0 { return (user, heldOut, predictions) }
            return nil
        }
    }
    var published: [(PublishedModel, LiveLearner.Evaluation)] {
        events.compactMap {
            if case .published(let model, let evaluation) = $0 { return (model, evaluation) }
            return nil
        }
    }
    var refusals: [String] {
        events.compactMap {
            if case .refused(let reason, _) = $0 { return reason }
            return nil
        }
    }
    var starts: [Int64] {
        events.compactMap {
            if case .started(_, let position) = $0 { return position }
            return nil
        }
    }
}

/// A stream of new users on the small synthetic world: each user-cold user's earliest `rows`
/// ratings, as external ids, interleaved one row per user per batch (so rows of different users
/// arrive mixed, as in a live log).
struct FeedbackStream {
    var users: [(id: String, rows: [(item: String, value: Float)])]

    init(users count: Int, rows: Int = 13, skip: Int = 0) {
        let experiment = ServingFixture.experiment
        let ids = experiment.dataset.itemIDs
        users = experiment.split.tasks(.userCold).dropFirst(skip).prefix(count).map { task in
            let ordered = (task.support + task.query).sorted { ($0.timestamp, $0.item) < ($1.timestamp, $1.item) }
            return ("new-\(task.user)", ordered.prefix(rows).map { (ids[Int($0.item)], $0.value) })
        }
    }

    func append(to store: SQLiteStore) async throws {
        let longest = users.map(\.rows.count).max() ?? 0
        for index in 0..<longest {
            let rows = users.compactMap { user -> StoredFeedback? in
                guard index < user.rows.count else { return nil }
                return StoredFeedback(
                    user: user.id, item: user.rows[index].item, value: user.rows[index].value, timestamp: Date())
            }
            _ = try await store.append(FeedbackBatch(rows: rows))
        }
    }
}

struct LiveLearnerTests {
    static func store() throws -> SQLiteStore {
        try SQLiteStore(path: ServingFixture.temporaryDirectory().appendingPathComponent("store.sqlite").path)
    }

    static func options(margin: Double) -> LiveLearner.Options {
        var options = LiveLearner.Options()
        options.everyUsers = 10_000
        options.margin = margin
        options.holdOutEvery = 3
        options.online.learningRate = 1e-2
        options.online.replayTasks = 2
        return options
    }

    @Test func learnsInArrivalOrderPredictsBeforeLearningAndPublishesANewStart() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let offline = try ModelBundle(contentsOf: url)
        let store = try Self.store()
        let stream = FeedbackStream(users: 18)
        try await stream.append(to: store)
        let log = EventLog()
        let learner = try await LiveLearner(store: store, bundle: offline, options: Self.options(margin: 10)) {
            log.append($0)
        }
        try await learner.run(once: true)

        // Every user, in the order their task completed (all complete in the last batch, in order).
        let tasks = log.tasks
        #expect(tasks.map(\.user) == stream.users.map(\.id))
        #expect(tasks.contains { $0.heldOut } && tasks.contains { !$0.heldOut })

        // Prequential: the first user learned from (held-back users before them teach nothing) is
        // predicted by the offline start, as a serving process adapting them to their support
        // would score their query; learning from them first would have moved the start.
        let firstLearned = try #require(tasks.firstIndex { !$0.heldOut })
        let first = stream.users[firstLearned]
        let recommender = try Recommender(bundle: offline)
        let state = try recommender.adapt(userFeatures: [:], feedback: Array(first.rows.prefix(3)))
        let query = first.rows.dropFirst(3).map(\.item)
        let served = try recommender.recommend(
            userFeatures: [:], state: state, count: query.count, candidates: Array(query))
        let byID = Dictionary(uniqueKeysWithValues: served.map { ($0.id, $0.score) })
        #expect(tasks[firstLearned].predictions.count == query.count)
        for (item, predicted) in zip(query, tasks[firstLearned].predictions) {
            let expected = try #require(byID[item])
            #expect(abs(offline.description.feedback.clipped(predicted) - expected) < 1e-4)
        }

        // Published: a new version, the fixed part bit for bit the offline one, the start moved.
        let (published, evaluation) = try #require(log.published.first)
        #expect(log.published.count == 1)
        #expect(published.id != offline.version)
        #expect(try await store.currentModel()?.id == published.id)
        #expect(evaluation.heldOutTasks == tasks.filter(\.heldOut).count)
        #expect(evaluation.replayTasks > 0)
        #expect(LiveLearner.position(inNote: published.note) == Int64((try await store.counts()).feedback))
        let bytes = try #require(try await store.modelBytes(id: published.id))
        let learned = try ModelBundle(bytes: bytes, source: URL(fileURLWithPath: "published"))
        let partition = try #require(offline.archive.header.metaTraining?.adaptation.partition)
        var moved = false
        for name in offline.archive.parameters.names {
            let before = offline.archive.parameters.tensor(name).denseValues.map(\.bitPattern)
            let after = learned.archive.parameters.tensor(name).denseValues.map(\.bitPattern)
            if partition.adapts(name) { moved = moved || before != after } else { #expect(before == after, "\(name)") }
        }
        #expect(moved)

        // Every serving process loads it (what LiveModel does on its next refresh).
        let loaded = try await RecommendationService.load(published.id, from: store)
        #expect(loaded.bundle.version == published.id)

        // A held-back user is predicted, never learned from: after a learned user, the start moved,
        // so a later learned user's predictions differ from the offline start's.
        let lastLearned = try #require(tasks.lastIndex { !$0.heldOut })
        let user = stream.users[lastLearned]
        let offlineState = try recommender.adapt(userFeatures: [:], feedback: Array(user.rows.prefix(3)))
        let offlineScores = try recommender.recommend(
            userFeatures: [:], state: offlineState, count: 10, candidates: user.rows.dropFirst(3).map(\.item))
        let offlineByID = Dictionary(uniqueKeysWithValues: offlineScores.map { ($0.id, $0.score) })
        let differs = zip(user.rows.dropFirst(3), tasks[lastLearned].predictions).contains {
            abs((offlineByID[$0.0.item] ?? 0) - offline.description.feedback.clipped($0.1)) > 1e-5
        }
        #expect(differs)
        try await store.close()
    }

    @Test func aRestartResumesFromThePublishedNote() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let store = try Self.store()
        // A user whose first 5 rows arrive before the first run and the other 8 after it.
        let straddling = FeedbackStream(users: 1, skip: 20)
        var early = straddling
        early.users[0].rows = Array(straddling.users[0].rows.prefix(5))
        var late = straddling
        late.users[0].rows = Array(straddling.users[0].rows.dropFirst(5))
        try await FeedbackStream(users: 9).append(to: store)
        try await early.append(to: store)
        let first = EventLog()
        try await LiveLearner(
            store: store, bundle: try ModelBundle(contentsOf: url), options: Self.options(margin: 10)
        ) { first.append($0) }.run(once: true)
        let head = Int64((try await store.counts()).feedback)
        #expect(first.published.count == 1)
        #expect(first.tasks.count == 9)

        try await FeedbackStream(users: 6, skip: 9).append(to: store)
        try await late.append(to: store)
        let second = EventLog()
        let learner = try await LiveLearner(store: store, options: Self.options(margin: 10)) { second.append($0) }
        try await learner.run(once: true)
        #expect(second.starts == [head])
        #expect(second.tasks.count == 7)
        #expect(Set(second.tasks.map(\.user)).isDisjoint(with: first.tasks.map(\.user)))
        // The straddling user's task holds their rows from before the restart: 3 + 10.
        let resumed = try #require(second.tasks.first { $0.user == straddling.users[0].id })
        #expect(resumed.predictions.count == 10)

        // A rollback to the start by someone else: the learner follows it, from the log's
        // beginning (that version has seen none of the stream), and never republishes its own.
        let start = try #require(try await store.modelHistory(limit: 10).last)
        let startBytes = try #require(try await store.modelBytes(id: start.id))
        _ = try await store.publishModel(startBytes, note: "rollback")
        let third = EventLog()
        let rolledBack = try await LiveLearner(store: store, options: Self.options(margin: -10)) { third.append($0) }
        try await rolledBack.run(once: true)
        #expect(third.starts == [0])
        #expect(third.tasks.count == 16)
        #expect(try await store.currentModel()?.id == start.id, "refused: the rollback stays")
        // The first instance again, with the rollback published since its last run: it follows.
        let before = second.events.count
        try await learner.run(once: true)
        let after = Array(second.events.dropFirst(before))
        #expect(after.contains { if case .rebased(start.id) = $0 { true } else { false } })
        #expect(after.compactMap { if case .started(_, let position) = $0 { position } else { nil } } == [Int64(0)])
        try await store.close()
    }

    @Test func aWorseCandidateIsRefusedAndNotPublished() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let offline = try ModelBundle(contentsOf: url)
        let store = try Self.store()
        try await FeedbackStream(users: 9).append(to: store)
        let log = EventLog()
        // A margin of −10 asks the candidate to beat the serving MAE by 10: impossible.
        try await LiveLearner(store: store, bundle: offline, options: Self.options(margin: -10)) {
            log.append($0)
        }.run(once: true)
        #expect(log.published.isEmpty)
        #expect(log.refusals.count == 1)
        #expect(log.refusals.first?.contains("held-back MAE") == true)
        let history = try await store.modelHistory(limit: 10)
        #expect(history.count == 1)  // the start only
        #expect(history.first?.id == offline.version)
        try await store.close()
    }

    @Test func aSecondLearnerIsRefusedWhileTheFirstHoldsTheLock() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let store = try Self.store()
        let learner = try await LiveLearner(store: store, bundle: try ModelBundle(contentsOf: url), owner: "second")
        #expect(try await store.tryLockLearner(owner: "first", for: 60))
        await #expect(throws: LiveLearnerError.locked) { try await learner.run(once: true) }
        #expect(try await store.tryLockLearner(owner: "first", for: 60))  // still the first's, renewed
        try await store.releaseLearner(owner: "first")
        try await learner.run(once: true)
        // It released its lock on the way out.
        #expect(try await store.tryLockLearner(owner: "third", for: 60))
        try await store.close()
    }

    @Test func anExpiredLockIsTakenOver() async throws {
        let store = try Self.store()
        // No race with the clock on a busy machine: the holder renews its lease to lapse at once.
        #expect(try await store.tryLockLearner(owner: "a", for: 3600))
        #expect(try await store.tryLockLearner(owner: "b", for: 60) == false)
        #expect(try await store.tryLockLearner(owner: "a", for: 0))
        try await Task.sleep(for: .milliseconds(20))
        #expect(try await store.tryLockLearner(owner: "b", for: 60))
        #expect(try await store.tryLockLearner(owner: "a", for: 60) == false)
        try await store.releaseLearner(owner: "a")  // not the holder: nothing happens
        #expect(try await store.tryLockLearner(owner: "c", for: 60) == false)
        try await store.close()
    }

    @Test func aBundleWithoutAPartitionIsRefused() async throws {
        let (_, url) = try ServingFixture.covarianceBundle()
        let store = try Self.store()
        let error = await #expect(throws: LiveLearnerError.self) {
            _ = try await LiveLearner(store: store, bundle: try ModelBundle(contentsOf: url))
        }
        #expect(error?.description.contains("cannot learn online") == true)
        try await store.close()
    }

    @Test(arguments: [1, -3])
    func holdingBackEveryoneOrANegativeShareIsRefusedBeforeAnythingIsStored(every: Int) async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let store = try Self.store()
        var options = Self.options(margin: 0)
        options.holdOutEvery = every
        let error = await #expect(throws: LiveLearnerError.self) {
            _ = try await LiveLearner(store: store, bundle: try ModelBundle(contentsOf: url), options: options)
        }
        #expect(error?.description.contains("--hold-out-every must be 0") == true)
        #expect(try await store.currentModel() == nil)
        try await store.close()
    }

    /// The bundle's training users are in the reservoir from the start, so the check against
    /// forgetting scores them too; a bundle without them has only the users learned since.
    @Test func theBundlesTrainingUsersAreReplayedFromTheStart() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let withUsers = try ModelBundle(contentsOf: url)
        let kept = try #require(withUsers.description.replayUsers?.tasks.count)
        var stripped = withUsers
        stripped.description.replayUsers = nil
        let without = try ModelBundle(bytes: stripped.serialized(), source: URL(fileURLWithPath: "stripped"))
        let capacity = OnlineMetaLearner.Options().replayCapacity
        for (bundle, bundled) in [(withUsers, kept), (without, 0)] {
            let store = try Self.store()
            let stream = FeedbackStream(users: 18)
            try await stream.append(to: store)
            var options = Self.options(margin: 10)
            options.replayChecked = 100_000
            let log = EventLog()
            let learner = try await LiveLearner(store: store, bundle: bundle, options: options) { log.append($0) }
            try await learner.run(once: true)
            let learned = log.tasks.filter { !$0.heldOut }.count
            #expect(learned > 0)
            let (_, evaluation) = try #require(log.published.first)
            #expect(evaluation.replayTasks == min(capacity, bundled + learned), "\(bundled) kept, \(learned) learned")
            try await store.close()
        }
        #expect(kept > 0)
    }

    @Test(arguments: [(-1, Float(0.5)), (7, Float(1)), (7, Float(-0.1))])
    func aReplayOutsideItsRangeIsRefusedBeforeAnythingIsStored(tasks: Int, weight: Float) async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let store = try Self.store()
        var options = Self.options(margin: 0)
        options.online.replayTasks = tasks
        options.online.replayWeight = weight
        let error = await #expect(throws: LiveLearnerError.self) {
            _ = try await LiveLearner(store: store, bundle: try ModelBundle(contentsOf: url), options: options)
        }
        #expect(error?.description.contains("--replay-weight in [0, 1)") == true)
        #expect(try await store.currentModel() == nil)
        try await store.close()
    }

    @Test func theLogIsReadInArrivalOrderAcrossUsers() async throws {
        let store = try Self.store()
        let now = Date()
        _ = try await store.append(
            FeedbackBatch(rows: [
                StoredFeedback(user: "b", item: "1", value: 4, timestamp: now),
                StoredFeedback(user: "a", item: "2", value: 3, timestamp: now),
            ]))
        _ = try await store.append(
            FeedbackBatch(rows: [StoredFeedback(user: "b", item: "3", value: 5, timestamp: now)]))
        let all = try await store.feedback(after: 0, limit: 10)
        #expect(all.map(\.user) == ["b", "a", "b"])
        #expect(all.map(\.item) == ["1", "2", "3"])
        #expect(all.map(\.sequence) == all.map(\.sequence).sorted())
        let rest = try await store.feedback(after: all[0].sequence, limit: 1)
        #expect(rest.map(\.item) == ["2"])
        #expect(try await store.feedback(after: all[2].sequence, limit: 10).isEmpty)
        try await store.close()
    }
}
