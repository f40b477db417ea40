import Foundation
import Hummingbird
import HummingbirdTesting
import MetaRecModels
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// `exploration` and `exploration_strength` on the recommendations endpoint.
@Suite struct ExplorationRouteTests {
    func app(bundle url: URL) async throws -> some ApplicationProtocol {
        let path = ServingFixture.temporaryDirectory().appendingPathComponent("store.sqlite").path
        let service = try await RecommendationService(
            recommender: Recommender(bundle: ModelBundle(contentsOf: url)), store: SQLiteStore(path: path))
        return RecommendationServer.application(service: service, adminToken: "token")
    }

    func message(_ response: TestResponse) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        return object?["error"] as? String ?? ""
    }

    @Test func aCovarianceModelExploresAndBadValuesAreRefused() async throws {
        let (_, url) = try ServingFixture.covarianceBundle()
        try await app(bundle: url).test(.router) { client in
            for query in ["exploration=greedy", "exploration=thompson", "exploration=ucb&exploration_strength=2.5"] {
                try await client.execute(uri: "/v1/users/ann/recommendations?k=5&\(query)", method: .get) { response in
                    #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                }
            }
            for (query, mentions) in [
                ("exploration=epsilon", "'epsilon'"), ("exploration=ucb&exploration_strength=-1", "'-1'"),
                ("exploration=ucb&exploration_strength=abc", "'abc'"),
                ("exploration=thompson&exploration_strength=nan", "'nan'"),
                ("exploration_strength=1", "needs 'exploration'"),
            ] {
                try await client.execute(uri: "/v1/users/ann/recommendations?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(query)")
                    #expect(message(response).contains(mentions), "\(query): \(message(response))")
                }
            }
        }
    }

    @Test func aModelWithoutUncertaintyAnswers400SayingWhy() async throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        try await app(bundle: url).test(.router) { client in
            try await client.execute(uri: "/v1/users/ann/recommendations?exploration=greedy", method: .get) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/v1/users/ann/recommendations?exploration=ucb", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(message(response).contains("covariance head"), "\(message(response))")
            }
        }
    }
}
