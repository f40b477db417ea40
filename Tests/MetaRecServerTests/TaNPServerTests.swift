import Foundation
import Hummingbird
import HummingbirdTesting
import MetaRecModels
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// The service with a TaNP bundle (quickly trained on the small synthetic world): feedback in,
/// recommendations out, the same ranking the library's Recommender gives for that feedback.
@Suite struct TaNPServerTests {
    static let token = "test-admin-token"
    let admin: HTTPFields = [.authorization: "Bearer \(Self.token)", .contentType: "application/json"]
    let ids = ServingFixture.experiment.dataset.itemIDs

    func items(_ response: TestResponse) -> [[String: Any]] {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        return object?["items"] as? [[String: Any]] ?? []
    }

    @Test func servesRecommendationsAfterFeedback() async throws {
        let (_, url) = try ServingFixture.tanpBundle(epochs: 1)
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let store = try SQLiteStore(
            path: ServingFixture.temporaryDirectory().appendingPathComponent("store.sqlite").path)
        let service = try await RecommendationService(recommender: recommender, store: store, options: .init())
        let app = RecommendationServer.application(service: service, adminToken: Self.token)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/model", method: .get) { response in
                let model =
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect(model?["method"] as? String == "tanp" && model?["hasUncertainty"] as? Bool == false)
            }
            let before = try await client.execute(uri: "/v1/users/cleo/recommendations?k=10", method: .get) {
                #expect($0.status == .ok)
                return items($0)
            }
            #expect(before.count == 10)
            let feedback =
                #"{"feedback": [{"user": "cleo", "item": "\#(ids[0])", "value": 5}, {"user": "cleo", "item": "\#(ids[1])", "value": 1}, {"user": "cleo", "item": "\#(ids[2])", "value": 4}]}"#
            try await client.execute(
                uri: "/v1/feedback", method: .post, headers: admin, body: ByteBuffer(string: feedback)
            ) { #expect($0.status == .ok) }
            let after = try await client.execute(uri: "/v1/users/cleo/recommendations?k=10", method: .get) {
                #expect($0.status == .ok)
                return items($0)
            }
            let seen = Set(ids[0...2])
            #expect(after.count == 10 && !after.contains { seen.contains($0["id"] as! String) })
            #expect(after.map { $0["score"] as! Double } != before.map { $0["score"] as! Double })
            // The service adapted with TaNP's encoder: the library's ranking for the same feedback.
            let state = try recommender.adapt(userFeatures: [:], feedback: [(ids[0], 5), (ids[1], 1), (ids[2], 4)])
            let expected = try recommender.recommend(userFeatures: [:], state: state, count: 10, excluding: seen)
            #expect(after.map { $0["id"] as! String } == expected.map(\.id))
        }
    }
}
