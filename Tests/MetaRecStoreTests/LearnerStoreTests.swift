import Foundation
import Testing

@testable import MetaRecStore

/// What the online learner (`metarec learn`) asks of every store: a publish that happens only if
/// the version it was checked against still answers, and its reports, kept in order.
@Suite struct LearnerStoreTests {
    @Test(arguments: StoreKind.underTest)
    func aCompareAndSetPublishHappensOnlyIfTheExpectedVersionStillAnswers(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let (bytesA, bytesB, bytesC) = (Data("bundle a".utf8), Data("bundle b".utf8), Data("bundle c".utf8))
            // Nothing published: only "expect nothing" may publish.
            #expect(try await store.publishModel(bytesA, note: "a?", expectedCurrent: "someone") == nil)
            #expect(try await store.modelHistory(limit: 10).isEmpty)
            let a = try #require(try await store.publishModel(bytesA, note: "a", expectedCurrent: nil))
            #expect(try await store.currentModel()?.id == a.id)
            // Something answers now: "expect nothing" is stale.
            #expect(try await store.publishModel(bytesB, note: "b?", expectedCurrent: nil) == nil)
            let b = try #require(try await store.publishModel(bytesB, note: "b", expectedCurrent: a.id))
            #expect(b.sequence > a.sequence && b.note == "b" && b.byteCount == bytesB.count)
            // Checked against a, but b was published meanwhile: refused, nothing written.
            #expect(try await store.publishModel(bytesC, note: "c", expectedCurrent: a.id) == nil)
            #expect(try await store.modelBytes(id: PublishedModel.identifier(of: bytesC)) == nil)
            #expect(try await store.modelHistory(limit: 10).map(\.note) == ["b", "a"])
            // A rollback to a makes a the one to expect again.
            _ = try await store.publishModel(bytesA, note: "back to a")
            #expect(try await store.publishModel(bytesC, note: "c", expectedCurrent: b.id) == nil)
            let c = try #require(try await store.publishModel(bytesC, note: "c", expectedCurrent: a.id))
            #expect(try await store.currentModel()?.id == c.id)
            #expect(try await store.modelBytes(id: c.id) == bytesC)
        }
    }

    @Test(arguments: StoreKind.underTest)
    func ofConcurrentPublishesExpectingTheSameVersionExactlyOneWins(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let one = try await fixture.open()
            let two = kind == .postgres ? try await fixture.open() : one
            let base = try #require(try await one.publishModel(Data("base".utf8), note: "base", expectedCurrent: nil))
            let winners = try await withThrowingTaskGroup(of: PublishedModel?.self) { group in
                for n in 0..<8 {
                    let store = n % 2 == 0 ? one : two
                    group.addTask {
                        try await store.publishModel(
                            Data("candidate \(n)".utf8), note: "\(n)", expectedCurrent: base.id)
                    }
                }
                var winners: [PublishedModel] = []
                for try await winner in group { if let winner { winners.append(winner) } }
                return winners
            }
            #expect(winners.count == 1)
            #expect(try await two.currentModel()?.id == winners.first?.id)
            #expect(try await one.modelHistory(limit: 10).count == 2)
            try await one.close()
            if kind == .postgres { try await two.close() }
        }
    }

    @Test(arguments: StoreKind.underTest)
    func learnerReportsComeBackNewestFirstWithEveryField(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let store = try await fixture.open()
            #expect(try await store.learnerReports(limit: 10).isEmpty)
            let first = LearnerReport(
                recordedAt: Date(timeIntervalSince1970: 1_700_000_000.25), outcome: .refused, servingVersion: "v1",
                reason: "held-back MAE 0.9 against 0.8", reasonLabel: "held_back_worse", through: 40, usersLearned: 8,
                usersHeldBack: 2, usersPerSecond: 12.5, streamGAUC: 0.61, streamMAE: 0.93, recentGAUC: 0.6,
                recentMAE: 0.95, candidateHeldOut: 0.9, servingHeldOut: 0.8, candidateReplay: 0.85, servingReplay: 0.86,
                metaUpdateSeconds: 0.004, published: 0, refused: ["held_back_worse": 1])
            var second = first
            second.outcome = .published
            second.publishedVersion = "v2"
            second.reason = nil
            second.reasonLabel = nil
            second.through = 90
            second.streamGAUC = nil
            second.published = 1
            let one = try await store.recordLearnerReport(first)
            let two = try await store.recordLearnerReport(second)
            #expect(two > one)
            try await store.close()
            // Another instance (a replica) reads the same reports.
            let reader = try await fixture.open()
            let reports = try await reader.learnerReports(limit: 10)
            var expectedFirst = first
            expectedFirst.sequence = one
            var expectedSecond = second
            expectedSecond.sequence = two
            #expect(reports == [expectedSecond, expectedFirst])
            #expect(try await reader.learnerReports(limit: 1) == [expectedSecond])
            try await reader.close()
        }
    }

    @Test(arguments: StoreKind.underTest)
    func onlyTheNewestReportsAreKept(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var sequences: [Int64] = []
            for through in 1...5 {
                let report = LearnerReport(
                    recordedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(through)), outcome: .refused,
                    servingVersion: "v1", reasonLabel: "unchanged", through: Int64(through), usersLearned: through,
                    usersHeldBack: 0, refused: ["unchanged": through])
                sequences.append(try await store.recordLearnerReport(report, keepingLatest: 3))
            }
            let kept = try await store.learnerReports(limit: 10)
            #expect(kept.map(\.through) == [5, 4, 3])
            #expect(kept.map(\.sequence) == Array(sequences.suffix(3).reversed()))
        }
    }
}
