import Foundation
import Hummingbird
import HummingbirdTesting
import MetaRecModels
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// What schemathesis (Scripts/ci-service.sh) holds the server to beyond the routes' own tests: a
/// method a path does not have is 405 with `Allow`, the description's paths are the router's, and
/// an explicit null in a feedback entry is refused as the description says.
@Suite struct ConformanceTests {
    static let token = "test-admin-token"
    let admin: HTTPFields = [.authorization: "Bearer \(Self.token)", .contentType: "application/json"]
    let ids = ServingFixture.experiment.dataset.itemIDs

    func service() async throws -> RecommendationService {
        let url = try ServingFixture.metaLearnerBundle().2
        let path = ServingFixture.temporaryDirectory().appendingPathComponent("store.sqlite").path
        return try await RecommendationService(
            recommender: Recommender(bundle: ModelBundle(contentsOf: url)), store: SQLiteStore(path: path))
    }

    func error(_ response: TestResponse) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
        return object?["error"] as? String ?? ""
    }

    @Test func aMethodAPathDoesNotHaveIs405WithAllow() async throws {
        let app = RecommendationServer.application(service: try await service(), adminToken: Self.token)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/feedback", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                #expect(error(response).contains("GET"))
            }
            try await client.execute(uri: "/v1/users/ann", method: .post, headers: admin) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, PUT, DELETE, HEAD")
            }
            try await client.execute(uri: "/healthz", method: .delete) {
                #expect($0.status == .methodNotAllowed && $0.headers[.allow] == "GET, HEAD")
            }
            try await client.execute(uri: "/v1/no-such-path", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
        }
    }

    /// Found by schemathesis: a whole-number strength past Int's range trapped in the policy's
    /// description (the error message of ucb on a model without uncertainty).
    @Test func aHugeExplorationStrengthIs400() async throws {
        let app = RecommendationServer.application(service: try await service(), adminToken: Self.token)
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/users/ann/recommendations?exploration=ucb&exploration_strength=1.6e308", method: .get
            ) { response in
                #expect(response.status == .badRequest)
                #expect(error(response).contains("exploration_strength"))
            }
        }
    }

    @Test func theDescriptionsPathsAreTheRoutersPaths() throws {
        let text = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
        let described = text.split(separator: "\n").filter { $0.hasPrefix("  /") && $0.hasSuffix(":") }.map {
            String($0.dropFirst(2).dropLast())
        }
        #expect(Set(described) == Set(Routes.methods.map { $0.path.description }))
    }

    @Test func anExplicitNullIsNotAValue() async throws {
        let service = try await service()
        let app = RecommendationServer.application(service: service, adminToken: Self.token)
        try await app.test(.router) { client in
            for entry in [
                #""value": null, "rating": 4"#, #""value": 4, "rating": null"#, #""value": 4, "timestamp": null"#,
            ] {
                let body = #"{"feedback": [{"user": "ann", "item": "\#(ids[0])", \#(entry)}]}"#
                try await client.execute(
                    uri: "/v1/feedback", method: .post, headers: admin, body: ByteBuffer(string: body)
                ) { response in
                    #expect(response.status == .badRequest, "\(entry)")
                    #expect(error(response).contains("found null"), "\(error(response))")
                }
            }
            #expect(try await service.store.counts().feedback == 0)
        }
    }
}
