import Foundation
import Hummingbird
import HummingbirdTesting
import MetaRecModels
import MetaRecStore
import MetaRecTestSupport
import Testing

@testable import MetaRecServer

/// Every endpoint through Hummingbird's in-process client, with each bad-input case; the
/// store on a real SQLite file.
@Suite struct ServerTests {
    static let token = "test-admin-token"
    let admin: HTTPFields = [.authorization: "Bearer \(Self.token)", .contentType: "application/json"]
    let ids = ServingFixture.experiment.dataset.itemIDs

    /// A service over a fresh (or given) SQLite file and a fixture bundle.
    func makeService(bundle: URL? = nil, store path: String? = nil, options: ServiceOptions = .init()) async throws -> (
        RecommendationService, URL, String
    ) {
        let url = try bundle ?? ServingFixture.metaLearnerBundle().2
        let storePath = path ?? ServingFixture.temporaryDirectory().appendingPathComponent("store.sqlite").path
        let service = try await RecommendationService(
            recommender: Recommender(bundle: ModelBundle(contentsOf: url)), store: SQLiteStore(path: storePath),
            options: options)
        return (service, url, storePath)
    }

    func app(_ service: RecommendationService) -> some ApplicationProtocol {
        RecommendationServer.application(service: service, adminToken: Self.token)
    }

    /// The JSON object of a response (empty, and a recorded issue, when it is not one).
    func object(_ response: TestResponse) -> [String: Any] {
        guard
            let value = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)))
                as? [String: Any]
        else {
            Issue.record("not a JSON object: \(String(buffer: response.body))")
            return [:]
        }
        return value
    }

    /// The error message of a 4xx response.
    func error(_ response: TestResponse) -> String {
        object(response)["error"] as? String ?? ""
    }

    func recommended(_ client: some TestClientProtocol, _ user: String, _ query: String = "k=10") async throws
        -> [[String: Any]]
    {
        try await client.execute(uri: "/v1/users/\(user)/recommendations?\(query)", method: .get) { response in
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            return object(response)["items"] as! [[String: Any]]
        }
    }

    @Test func healthMetricsDescriptionAndModel() async throws {
        let (service, _, _) = try await makeService()
        try await app(service).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(String(buffer: response.body).hasPrefix("openapi: 3.1.0"))
            }
            try await client.execute(uri: "/", method: .get) { #expect(String(buffer: $0.body).contains("MetaRec")) }
            try await client.execute(uri: "/v1/model", method: .get) { response in
                let model = object(response)
                #expect(model["objective"] as? String == "rating" && model["method"] as? String == "maml")
                #expect(model["itemCount"] as? Int == ids.count && model["hasUncertainty"] as? Bool == false)
                #expect((model["userFields"] as? [[String: Any]])?.contains { $0["name"] as? String == "age" } == true)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("metarec_http_requests_total"))
            }
            try await client.execute(uri: "/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(error(response).contains("/v1/nothing-here"))
            }
        }
    }

    @Test func usersCreateReadAndForget() async throws {
        let (service, _, _) = try await makeService()
        try await app(service).test(.router) { client in
            let body = ByteBuffer(string: #"{"features": {"age": 30, "gender": "F"}}"#)
            try await client.execute(uri: "/v1/users/ann", method: .put, body: body) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/users/ann", method: .put, headers: [.authorization: "Bearer wrong"], body: body
            ) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/v1/users/ann", method: .put, headers: admin, body: ByteBuffer(string: "{not json")
            ) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(
                uri: "/v1/users/ann", method: .put, headers: admin,
                body: ByteBuffer(string: #"{"features": {"age": true}}"#)
            ) { response in
                #expect(response.status == .badRequest && (error(response)).contains("age"))
            }
            try await client.execute(
                uri: "/v1/users/ann", method: .put, headers: admin,
                body: ByteBuffer(string: #"{"features": {"shoe": "9"}}"#)
            ) { response in
                #expect(response.status == .badRequest && (error(response)).contains("shoe"))
            }
            #expect(try await service.store.user("ann") == nil, "bad input leaves the store as it was")
            try await client.execute(uri: "/v1/users/ann", method: .put, headers: admin, body: body) { response in
                #expect(response.status == .ok)
                #expect(object(response)["feedbackCount"] as? Int == 0)
            }
            try await client.execute(uri: "/v1/users/ann", method: .get) { response in
                let user = object(response)
                #expect(
                    user["id"] as? String == "ann" && (user["features"] as? [String: Any])?["gender"] as? String == "F")
                #expect(user["createdAt"] is String)
            }
            try await client.execute(uri: "/v1/users/nobody", method: .get) { response in
                #expect(response.status == .notFound && (error(response)).contains("nobody"))
            }
            let feedback = ByteBuffer(string: #"{"feedback": [{"user": "ann", "item": "\#(ids[0])", "value": 5}]}"#)
            try await client.execute(uri: "/v1/feedback", method: .post, headers: admin, body: feedback) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/v1/users/ann", method: .delete) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/users/ann", method: .delete, headers: admin) {
                #expect($0.status == .noContent)
            }
            try await client.execute(uri: "/v1/users/ann", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/v1/users/ann", method: .delete, headers: admin) {
                #expect($0.status == .notFound)
            }
            #expect(try await service.store.feedbackLog(user: "ann").isEmpty)
            #expect(try await service.store.adaptedState(user: "ann") == nil)
        }
    }

    @Test func feedbackChangesRecommendationsAndBadBatchesChangeNothing() async throws {
        let (service, _, _) = try await makeService(
            options: {
                var o = ServiceOptions()
                o.maximumBatch = 5
                o.maximumBodyBytes = 4096
                return o
            }())
        try await app(service).test(.router) { client in
            let before = try await recommended(client, "bob")
            #expect(before.count == 10, "a user with no feedback gets the prior's ranking")
            func post(_ json: String, headers: HTTPFields? = nil) async throws -> TestResponse {
                try await client.execute(
                    uri: "/v1/feedback", method: .post, headers: headers ?? admin, body: ByteBuffer(string: json))
            }
            let good =
                #"{"feedback": [{"user": "bob", "item": "\#(ids[0])", "value": 5}, {"user": "bob", "item": "\#(ids[1])", "value": 1, "timestamp": 1700000000}, {"user": "bob", "item": "\#(ids[2])", "value": 4}]}"#
            #expect(try await post(good, headers: [.contentType: "application/json"]).status == .unauthorized)
            let unknown = try await post(
                #"{"feedback": [{"user": "bob", "item": "\#(ids[0])", "value": 5}, {"user": "bob", "item": "nope", "value": 1}]}"#
            )
            #expect(unknown.status == .notFound && (error(unknown)).contains("nope"))
            let wrongType = try await post(#"{"feedback": [{"user": "bob", "item": "\#(ids[0])", "value": "five"}]}"#)
            #expect(wrongType.status == .badRequest && (error(wrongType)).contains("feedback[0].value"))
            let missing = try await post(#"{"feedback": [{"user": "bob", "value": 3}]}"#)
            #expect(missing.status == .badRequest && (error(missing)).contains("item"))
            let huge = try await post(#"{"feedback": [{"user": "bob", "item": "\#(ids[0])", "value": 1e39}]}"#)
            #expect(huge.status == .badRequest && (error(huge)).contains("value"))
            #expect(try await post(#"{"feedback": []}"#).status == .badRequest)
            let rows = (0..<6).map { _ in #"{"user": "bob", "item": "\#(ids[0])", "value": 3}"# }.joined(separator: ",")
            #expect(try await post(#"{"feedback": [\#(rows)]}"#).status == .contentTooLarge)
            #expect(
                try await post(
                    #"{"feedback": [{"user": "\#(String(repeating: "x", count: 5000))", "item": "1", "value": 3}]}"#
                ).status == .contentTooLarge)
            #expect(try await service.store.counts().feedback == 0, "rejected batches store nothing")

            let stored = try await post(good)
            #expect(stored.status == .ok && (object(stored))["stored"] as? Int == 3)
            #expect(
                try await service.store.user("bob")?.feedbackCount == 3, "a user named for the first time is created")
            let after = try await recommended(client, "bob")
            let seen = Set(ids[0...2])
            #expect(!after.contains { seen.contains($0["id"] as! String) }, "seen items are excluded by default")
            #expect(
                after.map { $0["score"] as! Double } != before.map { $0["score"] as! Double }, "the ranking changed")
            let withSeen = try await recommended(client, "bob", "k=\(ids.count)&includeSeen=true")
            #expect(withSeen.count == ids.count)
            let filtered = try await recommended(client, "bob", "k=5&candidates=\(ids[5]),\(ids[6])")
            #expect(Set(filtered.map { $0["id"] as! String }) == [ids[5], ids[6]])
            for query in ["k=0", "k=abc", "includeSeen=maybe"] {
                try await client.execute(uri: "/v1/users/bob/recommendations?\(query)", method: .get) { response in
                    #expect(response.status == .badRequest && (error(response)).contains("'"))
                }
            }
            try await client.execute(uri: "/v1/users/bob/recommendations?candidates=zzz", method: .get) { response in
                #expect(response.status == .notFound && (error(response)).contains("zzz"))
            }
            try await client.execute(uri: "/v1/users/bob/questions?k=3", method: .get) { response in
                let items = object(response)["items"] as! [[String: Any]]
                #expect(items.count == 3 && !items.contains { seen.contains($0["id"] as! String) })
            }
        }
    }

    @Test func anItemAddedThroughOneReplicaIsAReplayOrAConflictThroughAnother() async throws {
        let (first, bundle, storePath) = try await makeService()
        let (second, _, _) = try await makeService(bundle: bundle, store: storePath)
        let body = #"{"id": "shared", "title": "Shared film", "features": {"genres": ["Drama"]}}"#
        try await app(first).test(.router) { client in
            try await client.execute(uri: "/v1/items", method: .post, headers: admin, body: ByteBuffer(string: body)) {
                #expect($0.status == .created)
            }
        }
        try await app(second).test(.router) { client in
            // The second replica has not refreshed yet; it reads the store before deciding.
            try await client.execute(uri: "/v1/items", method: .post, headers: admin, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok && $0.headers[.idempotentReplayed] == "true")
            }
            let other = #"{"id": "shared", "title": "Another film", "features": {"genres": ["Drama"]}}"#
            try await client.execute(uri: "/v1/items", method: .post, headers: admin, body: ByteBuffer(string: other)) {
                #expect($0.status == .conflict)
            }
        }
        let stored = try await SQLiteStore(path: storePath).addedItems()
        #expect(stored.map(\.id) == ["shared"] && stored.map(\.title) == ["Shared film"])
    }

    @Test func itemsAddHideListAndRank() async throws {
        let (service, _, _) = try await makeService()
        try await app(service).test(.router) { client in
            let body = ByteBuffer(
                string:
                    #"{"id": "fresh", "title": "Fresh film", "features": {"genres": ["Drama", "Comedy"], "year": 1000000000}}"#
            )
            try await client.execute(uri: "/v1/items", method: .post, body: body) {
                #expect($0.status == .unauthorized)
            }
            var addedAt: String?
            try await client.execute(uri: "/v1/items", method: .post, headers: admin, body: body) { response in
                #expect(response.status == .created)
                #expect(response.headers[.idempotentReplayed] == nil)
                let item = object(response)
                #expect(
                    item["id"] as? String == "fresh" && item["hidden"] as? Bool == false && item["addedAt"] is String)
                addedAt = item["addedAt"] as? String
            }
            // The same request retried: the item as first added, marked as a replay, not a conflict.
            try await client.execute(uri: "/v1/items", method: .post, headers: admin, body: body) { response in
                #expect(response.status == .ok && response.headers[.idempotentReplayed] == "true")
                #expect(object(response)["addedAt"] as? String == addedAt)
            }
            // The same id with other features is a conflict, and changes nothing.
            try await client.execute(
                uri: "/v1/items", method: .post, headers: admin,
                body: ByteBuffer(string: #"{"id": "fresh", "title": "Fresh film", "features": {"genres": ["Horror"]}}"#)
            ) { response in
                #expect(response.status == .conflict && error(response).contains("fresh"))
            }
            #expect(service.recommender.item("fresh")?.features["genres"] == .texts(["Drama", "Comedy"]))
            try await client.execute(
                uri: "/v1/items", method: .post, headers: admin,
                body: ByteBuffer(string: #"{"id": "bad", "features": {"year": "soon"}}"#)
            ) { response in
                #expect(response.status == .badRequest && (error(response)).contains("year"))
            }
            try await client.execute(
                uri: "/v1/items", method: .post, headers: admin, body: ByteBuffer(string: #"{"title": "no id"}"#)
            ) { response in
                #expect(response.status == .badRequest && (error(response)).contains("id"))
            }
            let ranked = try await recommended(client, "carl", "k=\(ids.count + 1)")
            #expect(ranked.contains { $0["id"] as? String == "fresh" }, "a new item is ranked on the next request")
            try await client.execute(uri: "/v1/items/fresh", method: .get) {
                #expect((object($0))["title"] as? String == "Fresh film")
            }
            try await client.execute(uri: "/v1/items/absent", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(
                uri: "/v1/items/fresh", method: .patch, headers: admin, body: ByteBuffer(string: #"{"hidden": true}"#)
            ) { response in
                #expect(response.status == .ok && (object(response))["hidden"] as? Bool == true)
            }
            try await client.execute(
                uri: "/v1/items/fresh", method: .patch, headers: admin, body: ByteBuffer(string: #"{"hidden": "yes"}"#)
            ) { response in
                #expect(response.status == .badRequest && (error(response)).contains("hidden"))
            }
            try await client.execute(
                uri: "/v1/items/absent", method: .patch, headers: admin, body: ByteBuffer(string: #"{"hidden": true}"#)
            ) {
                #expect($0.status == .notFound)
            }
            let hidden = try await recommended(client, "carl", "k=\(ids.count + 1)")
            #expect(!hidden.contains { $0["id"] as? String == "fresh" })
            try await client.execute(uri: "/v1/items?offset=0&limit=7", method: .get) { response in
                let page = object(response)
                #expect(
                    (page["items"] as! [Any]).count == 7 && page["total"] as? Int == ids.count + 1
                        && page["nextOffset"] as? Int == 7)
            }
            try await client.execute(uri: "/v1/items?offset=\(ids.count)&limit=7", method: .get) { response in
                let page = object(response)
                #expect((page["items"] as! [Any]).count == 1 && page["nextOffset"] == nil)
            }
            try await client.execute(uri: "/v1/items?limit=-1", method: .get) { #expect($0.status == .badRequest) }
        }
    }

    @Test func sessionsWriteOnlyForTheirOwnUserAndAdminStatusNeedsTheAdminToken() async throws {
        let (service, _, _) = try await makeService()
        try await app(service).test(.router) { client in
            let session = try await client.execute(uri: "/v1/sessions", method: .post) { object($0) }
            let user = try #require(session["user"] as? String)
            let token = try #require(session["token"] as? String)
            let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
            let own = ByteBuffer(string: #"{"feedback": [{"user": "\#(user)", "item": "\#(ids[0])", "value": 4}]}"#)
            try await client.execute(uri: "/v1/feedback", method: .post, headers: headers, body: own) {
                #expect($0.status == .ok)
            }
            let other = ByteBuffer(
                string: #"{"feedback": [{"user": "someone-else", "item": "\#(ids[0])", "value": 4}]}"#)
            try await client.execute(uri: "/v1/feedback", method: .post, headers: headers, body: other) { response in
                #expect(response.status == .forbidden && (error(response)).contains("someone-else") == false)
            }
            try await client.execute(
                uri: "/v1/users/someone-else", method: .put, headers: headers, body: ByteBuffer(string: "{}")
            ) {
                #expect($0.status == .forbidden)
            }
            try await client.execute(
                uri: "/v1/users/\(user)", method: .put, headers: headers,
                body: ByteBuffer(string: #"{"features": {"age": 40}}"#)
            ) {
                #expect($0.status == .ok)
            }
            try await client.execute(
                uri: "/v1/items", method: .post, headers: headers, body: ByteBuffer(string: #"{"id": "x"}"#)
            ) {
                #expect($0.status == .unauthorized, "a session cannot add items")
            }
            let forged = token.dropLast(2) + "AA"
            try await client.execute(
                uri: "/v1/feedback", method: .post, headers: [.authorization: "Bearer \(forged)"], body: own
            ) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/admin/status", method: .get, headers: headers) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/admin/status", method: .get, headers: admin) { response in
                let status = object(response)
                #expect((status["counts"] as? [String: Any])?["feedback"] as? Int == 1)
                #expect(((status["requests"] as? [String: Any])?["total"] as? Int ?? 0) > 0)
                #expect((status["events"] as? [String])?.contains { $0.contains("adapted user") } == true)
            }
        }
    }

    @Test func servedRecommendationsAreRecordedAsImpressions() async throws {
        let (service, _, _) = try await makeService(
            options: {
                var o = ServiceOptions()
                o.recordImpressions = true
                return o
            }())
        try await app(service).test(.router) { client in
            let feedback = ByteBuffer(string: #"{"feedback": [{"user": "fay", "item": "\#(ids[0])", "value": 1}]}"#)
            try await client.execute(uri: "/v1/feedback", method: .post, headers: admin, body: feedback) {
                #expect($0.status == .ok)
            }
            _ = try await recommended(client, "fay", "k=4")
        }
        #expect(try await service.store.counts().impressions == 4)
        let (quiet, _, _) = try await makeService()
        try await app(quiet).test(.router) { client in
            _ = try await recommended(client, "fay", "k=4")
        }
        #expect(try await quiet.store.counts().impressions == 0, "off by default: adaptation does not use them")
    }

    @Test func protectedReadsNeedAToken() async throws {
        let (service, _, _) = try await makeService(
            options: {
                var o = ServiceOptions()
                o.protectReads = true
                return o
            }())
        try await app(service).test(.router) { client in
            try await client.execute(uri: "/v1/users/ann/recommendations", method: .get) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(uri: "/v1/items", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/v1/users/ann/recommendations", method: .get, headers: admin) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test func aRestartLosesNothingAcknowledged() async throws {
        let (first, bundle, path) = try await makeService()
        let ranking: [(id: String, score: Double)] = try await app(first).test(.router) { client in
            let feedback = ByteBuffer(
                string:
                    #"{"feedback": [{"user": "dan", "item": "\#(ids[3])", "value": 5}, {"user": "dan", "item": "\#(ids[4])", "value": 1}]}"#
            )
            try await client.execute(uri: "/v1/feedback", method: .post, headers: admin, body: feedback) {
                #expect($0.status == .ok)
            }
            try await client.execute(
                uri: "/v1/items", method: .post, headers: admin,
                body: ByteBuffer(string: #"{"id": "late", "features": {"genres": ["Drama"]}}"#)
            ) {
                #expect($0.status == .created)
            }
            try await client.execute(
                uri: "/v1/items/\(ids[7])", method: .patch, headers: admin,
                body: ByteBuffer(string: #"{"hidden": true}"#)
            ) {
                #expect($0.status == .ok)
            }
            return try await recommended(client, "dan", "k=\(ids.count + 1)").map {
                ($0["id"] as! String, $0["score"] as! Double)
            }
        }
        try await first.store.close()

        let (second, _, _) = try await makeService(bundle: bundle, store: path)
        try await app(second).test(.router) { client in
            let again = try await recommended(client, "dan", "k=\(ids.count + 1)")
            #expect(again.map { $0["id"] as! String } == ranking.map(\.id))
            #expect(again.map { $0["score"] as! Double } == ranking.map(\.score))
            #expect(
                again.contains { $0["id"] as? String == "late" } && !again.contains { $0["id"] as? String == ids[7] })
            try await client.execute(uri: "/v1/users/dan", method: .get) {
                #expect((object($0))["feedbackCount"] as? Int == 2)
            }
        }
        try await second.store.close()
    }

    /// Concurrent batches for one user are all stored and all reach the adapted state.
    @Test func concurrentFeedbackToOneUser() async throws {
        let (service, _, _) = try await makeService()
        try await app(service).test(.router) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in 0..<8 {
                    group.addTask {
                        let rows = (0..<3).map {
                            #"{"user": "eve", "item": "\#(ids[batch * 3 + $0])", "value": \#(1 + (batch + $0) % 5)}"#
                        }
                        try await client.execute(
                            uri: "/v1/feedback", method: .post, headers: admin,
                            body: ByteBuffer(string: #"{"feedback": [\#(rows.joined(separator: ","))]}"#)
                        ) {
                            #expect($0.status == .ok)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let stored = try await service.store.feedbackLog(user: "eve")
        #expect(stored.count == 24)
        let state = try #require(try await service.store.adaptedState(user: "eve"))
        #expect(state.lastSequence == stored.last!.sequence, "the state has seen the last batch")
        let expected = try service.recommender.adapt(userFeatures: [:], feedback: stored.map { ($0.item, $0.value) })
        #expect(state.values == expected.values)
    }
}
