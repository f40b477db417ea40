import Foundation
import Hummingbird
import HummingbirdTesting
import MetaRecModels
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// The dashboard's learner history (`GET /v1/admin/learner`) and the learner's figures on
/// `/metrics`: both read from the store, so a replica that never met the learner shows them.
@Suite struct LearnerHistoryRouteTests {
    static let token = "test-admin-token"

    @Test func theHistoryAndTheMetricsComeFromTheStore() async throws {
        let url = try ServingFixture.metaLearnerBundle().2
        let path = ServingFixture.temporaryDirectory().appendingPathComponent("store.sqlite").path
        // What a learner in another process left in the store.
        let writer = try SQLiteStore(path: path)
        let start = try await writer.publishModel(Data(contentsOf: url), note: "first serve")
        try await writer.recordLearnerReport(
            LearnerReport(
                outcome: .refused, servingVersion: start.id, reason: "the start did not change",
                reasonLabel: "unchanged",
                through: 50, usersLearned: 4, usersHeldBack: 1, streamGAUC: 0.55, streamMAE: 0.9,
                refused: ["unchanged": 1]))
        try await writer.recordLearnerReport(
            LearnerReport(
                outcome: .published, servingVersion: start.id, publishedVersion: "next", through: 120,
                usersLearned: 11, usersHeldBack: 3, usersPerSecond: 40, streamGAUC: 0.58, streamMAE: 0.88,
                recentGAUC: 0.6, recentMAE: 0.86, candidateHeldOut: 0.8, servingHeldOut: 0.82, metaUpdateSeconds: 0.003,
                published: 1, refused: ["unchanged": 1]))
        try await writer.close()

        let service = try await RecommendationService(
            recommender: Recommender(bundle: ModelBundle(contentsOf: url)), store: SQLiteStore(path: path))
        let app = RecommendationServer.application(service: service, adminToken: Self.token)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/admin/learner", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/v1/admin/learner?limit=0", method: .get, headers: [.authorization: "Bearer \(Self.token)"]
            ) { #expect($0.status == .badRequest) }
            try await client.execute(
                uri: "/v1/admin/learner", method: .get, headers: [.authorization: "Bearer \(Self.token)"]
            ) { response in
                #expect(response.status == .ok)
                let body = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                let versions = try #require(body["versions"] as? [[String: Any]])
                #expect(versions.map { $0["id"] as? String } == [start.id])
                #expect(versions.first?["note"] as? String == "first serve")
                let reports = try #require(body["reports"] as? [[String: Any]])
                #expect(reports.map { $0["outcome"] as? String } == ["refused", "published"], "oldest first")
                #expect(reports.map { $0["through"] as? Int } == [50, 120])
                #expect(reports.first?["reasonLabel"] as? String == "unchanged")
                #expect(reports.last?["streamGAUC"] as? Double == 0.58)
                #expect(reports.first?["candidateHeldOut"] == nil, "absent, not null, when not measured")
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("metarec_learner_stream_gauc{window=\"cumulative\"} 0.58"))
                #expect(text.contains("metarec_learner_users_per_second 40.0"))
                #expect(text.contains("metarec_learner_versions_refused{reason=\"unchanged\"} 1.0"))
                #expect(text.contains("metarec_learner_through_sequence 120.0"))
            }
        }
    }
}
