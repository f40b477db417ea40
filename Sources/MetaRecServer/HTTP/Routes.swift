import Foundation
import HTTPTypes
import Hummingbird
import MetaRecData
import MetaRecModels
import MetaRecStore

/// The `/v1` JSON API, health, metrics, the OpenAPI description and the pages, as a Hummingbird
/// router. Sources/MetaRecServer/openapi.yaml describes every route; CI checks the two agree.
struct Routes: Sendable {
    let service: RecommendationService
    let authorization: Authorization
    let metrics: ServerMetrics

    var options: ServiceOptions { service.options }

    func add(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in JSON.response(HealthView(status: "ok")) }
        router.get("/readyz") { _, _ in
            _ = try await service.store.counts()  // the store answers
            return JSON.response(HealthView(status: "ready"))
        }
        router.get("/metrics") { _, _ in
            // The learner's figures, from the store (none until a learner has reported; the
            // request figures are still worth answering with while the store is unreachable).
            if let report = try? await service.store.learnerReports(limit: 1).first { metrics.record(learner: report) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        router.get("/openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
        StaticPages.add(to: router)

        let v1 = router.group("/v1")
        v1.get("/model") { _, _ in JSON.response(modelView()) }
        v1.post("/sessions") { _, _ in
            let user = "visitor-" + UUID().uuidString.lowercased()
            let session = authorization.issueSession(user: user)
            return JSON.response(
                SessionView(user: user, token: session.token, expiresAt: session.expiresAt), status: .created)
        }
        v1.get("/admin/status") { request, _ in
            try requireAdmin(request)
            return JSON.response(try await status())
        }

        v1.get("/admin/learner") { request, _ in
            try requireAdmin(request)
            let limit = try integer(request, "limit", default: 200, in: 1...1000)
            return JSON.response(try await LearnerHistoryView.read(from: service.store, limit: limit))
        }

        v1.put("/users/:id") { request, context in
            let id = try userID(context)
            try authorizeWrite(request, user: id)
            let body = try await JSON.decode(UserBody.self, from: request, limit: options.maximumBodyBytes)
            let user = try await service.putUser(id, features: body.features ?? [:])
            return JSON.response(
                UserView(id: id, features: user.features, feedbackCount: user.feedbackCount, createdAt: user.createdAt))
        }
        v1.get("/users/:id") { request, context in
            let id = try userID(context)
            try authorizeRead(request, user: id)
            guard let user = try await service.user(id) else { throw APIError(.notFound, "user '\(id)' is not known") }
            return JSON.response(
                UserView(id: id, features: user.features, feedbackCount: user.feedbackCount, createdAt: user.createdAt))
        }
        v1.delete("/users/:id") { request, context in
            let id = try userID(context)
            try authorizeWrite(request, user: id)
            guard try await service.deleteUser(id) else { throw APIError(.notFound, "user '\(id)' is not known") }
            return Response(status: .noContent)
        }
        v1.get("/users/:id/questions") { request, context in
            let id = try userID(context)
            try authorizeRead(request, user: id)
            let count = try integer(request, "k", default: 5, in: 1...options.maximumCount)
            let items = try await service.questions(user: id, count: count)
            return JSON.response(QuestionsView(user: id, items: items.map(ItemView.init)))
        }
        v1.get("/users/:id/recommendations") { request, context in
            let id = try userID(context)
            try authorizeRead(request, user: id)
            let query = request.uri.queryParameters
            let count = try integer(request, "k", default: 10, in: 1...options.maximumCount)
            let candidates = query.get("candidates").map {
                $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            }
            let includeSeen = try boolean(request, "includeSeen", default: false)
            let category = query.get("category").flatMap { $0.isEmpty ? nil : $0 }
            let exploration = try explorationPolicy(request)
            let items = try await service.recommendations(
                user: id, count: count, includeSeen: includeSeen, candidates: candidates, category: category,
                exploration: exploration)
            return JSON.response(
                RecommendationsView(
                    user: id, model: .init(version: service.recommender.bundle.version),
                    items: items.map {
                        .init(id: $0.id, title: $0.title, score: $0.score, standardDeviation: $0.standardDeviation)
                    }))
        }

        v1.post("/feedback") { request, _ in
            let grant = try requireWriter(request)
            let bytes = try await JSON.body(of: request, limit: options.maximumBodyBytes)
            let body = try JSON.decode(FeedbackBody.self, from: bytes)
            guard !body.feedback.isEmpty else { throw APIError(.badRequest, "feedback: the batch is empty") }
            guard body.feedback.count <= options.maximumBatch else {
                throw APIError(
                    .contentTooLarge, "feedback: \(body.feedback.count) rows, at most \(options.maximumBatch) per batch"
                )
            }
            let scale = service.recommender.bundle.description.feedback
            let now = Date()
            let rows = try body.feedback.enumerated().map { index, entry -> StoredFeedback in
                guard !entry.user.isEmpty, entry.user.unicodeScalars.count <= 256 else {
                    throw APIError(.badRequest, "feedback[\(index)].user: must be 1 to 256 characters")
                }
                guard !entry.item.isEmpty else {
                    throw APIError(.badRequest, "feedback[\(index)].item: must not be empty")
                }
                if case .user(let allowed) = grant, entry.user != allowed {
                    throw APIError(
                        .forbidden, "feedback[\(index)].user: this session may only write for user '\(allowed)'")
                }
                var timestamp = now
                if let seconds = entry.timestamp {
                    guard seconds.isFinite, abs(seconds) < 1e11 else {
                        throw APIError(.badRequest, "feedback[\(index)].timestamp: must be seconds since 1970")
                    }
                    timestamp = Date(timeIntervalSince1970: seconds)
                }
                let value = try entry.modelValue(scale: scale, index: index)
                return StoredFeedback(user: entry.user, item: entry.item, value: value, timestamp: timestamp)
            }
            let answer = try JSON.encoder.encode(StoredCount(stored: rows.count))
            var idempotency: IdempotentWrite?
            if let key = request.headers[.idempotencyKey] {
                guard !key.isEmpty, key.unicodeScalars.count <= 256 else {
                    throw APIError(.badRequest, "Idempotency-Key: must be 1 to 256 characters")
                }
                idempotency = IdempotentWrite(
                    key: key, requestDigest: JSON.digest(method: "POST", path: "/v1/feedback", body: bytes),
                    response: answer)
            }
            switch try await service.addFeedback(rows, idempotency: idempotency) {
            case .stored: return JSON.response(bytes: answer)
            case .replayed(let first): return JSON.response(bytes: first, headers: [.idempotentReplayed: "true"])
            }
        }

        v1.post("/items") { request, _ in
            try requireAdmin(request)
            let body = try await JSON.decode(ItemBody.self, from: request, limit: options.maximumBodyBytes)
            let id = body.id.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !id.isEmpty, body.id.unicodeScalars.count <= 256 else {
                throw APIError(.badRequest, "id: must be 1 to 256 characters")
            }
            switch try await service.addItemOnce(id: id, title: body.title ?? id, features: body.features ?? [:]) {
            case .added(let item):
                return JSON.response(ItemView(item), status: .created)
            case .existing(let item):
                // A retried request (same id, title and features): the item, not a conflict.
                return JSON.response(ItemView(item), headers: [.idempotentReplayed: "true"])
            case nil:
                throw APIError(
                    .conflict, "id: item '\(id)' already exists with another title or features; choose another id")
            }
        }
        v1.patch("/items/:id") { request, context in
            try requireAdmin(request)
            let id = try pathID(context)
            let body = try await JSON.decode(ItemPatch.self, from: request, limit: options.maximumBodyBytes)
            guard let item = try await service.setHidden(item: id, body.hidden) else {
                throw APIError(.notFound, "item '\(id)' is not in the catalogue")
            }
            return JSON.response(ItemView(item))
        }
        v1.get("/items/:id") { request, context in
            try authorizeRead(request, user: nil)
            let id = try pathID(context)
            guard let item = service.recommender.item(id) else {
                throw APIError(.notFound, "item '\(id)' is not in the catalogue")
            }
            return JSON.response(ItemView(item))
        }
        v1.get("/items") { request, _ in
            try authorizeRead(request, user: nil)
            let offset = try integer(request, "offset", default: 0, in: 0...Int(Int32.max))
            let limit = try integer(request, "limit", default: 50, in: 1...options.maximumCount)
            let page = service.recommender.items(offset: offset, limit: limit)
            let next = offset + page.items.count < page.total ? offset + page.items.count : nil
            return JSON.response(ItemPage(items: page.items.map(ItemView.init), total: page.total, nextOffset: next))
        }
        addMethodNotAllowed(to: router)
    }

    /// Every path of openapi.yaml and its methods.
    static let methods: [(path: RouterPath, methods: [HTTPRequest.Method])] = [
        ("/healthz", [.get]), ("/readyz", [.get]), ("/metrics", [.get]), ("/openapi.yaml", [.get]),
        ("/v1/model", [.get]), ("/v1/sessions", [.post]), ("/v1/admin/status", [.get]), ("/v1/admin/learner", [.get]),
        ("/v1/users/:id", [.get, .put, .delete]), ("/v1/users/:id/questions", [.get]),
        ("/v1/users/:id/recommendations", [.get]), ("/v1/feedback", [.post]), ("/v1/items", [.get, .post]),
        ("/v1/items/:id", [.get, .patch]),
    ]

    /// Any other method on these paths is 405 with `Allow` (RFC 9110), not 404: the path exists.
    private func addMethodNotAllowed(to router: Router<BasicRequestContext>) {
        let candidates: [HTTPRequest.Method] = [.get, .put, .post, .delete, .patch, .trace, .query]
        for (path, methods) in Self.methods {
            let allow = (methods.contains(.get) ? methods + [.head] : methods).map(\.rawValue).joined(separator: ", ")
            for method in candidates where !methods.contains(method) {
                router.on(path, method: method) { request, _ -> Response in
                    throw APIError(
                        .methodNotAllowed, "\(request.method) is not a method of \(request.uri.path); it has \(allow)",
                        headers: [.allow: allow])
                }
            }
        }
    }

    // MARK: - Helpers

    /// The `{id}` of the path, percent-decoded (the router hands it over as sent): the id a body
    /// names, so that `GET /v1/items/%C3%A9` finds the item `POST /v1/items` added as "é".
    private func pathID(_ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require("id")
        guard let id = raw.removingPercentEncoding else {
            throw APIError(.badRequest, "id: '\(raw)' is not valid percent-encoded UTF-8")
        }
        return id
    }

    private func userID(_ context: BasicRequestContext) throws -> String {
        let id = try pathID(context)
        guard !id.isEmpty, id.unicodeScalars.count <= 256 else {
            throw APIError(.badRequest, "user id: must be 1 to 256 characters")
        }
        return id
    }

    private func integer(_ request: Request, _ name: String, default value: Int, in range: ClosedRange<Int>) throws
        -> Int
    {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError(
                .badRequest,
                "query parameter '\(name)': expected an integer from \(range.lowerBound) to \(range.upperBound), found '\(text)'"
            )
        }
        return number
    }

    /// `exploration=greedy|thompson|ucb` and `exploration_strength=<number >= 0>` (default 1).
    private func explorationPolicy(_ request: Request) throws -> ExplorationPolicy {
        let query = request.uri.queryParameters
        let strengthText = query.get("exploration_strength")
        var strength = 1.0
        if let strengthText {
            guard let value = Double(strengthText), value.isFinite, value >= 0, value <= 1_000_000 else {
                throw APIError(
                    .badRequest,
                    "query parameter 'exploration_strength': expected a number from 0 to 1000000, found '\(strengthText)'"
                )
            }
            strength = value
        }
        guard let name = query.get("exploration") else {
            guard strengthText == nil else {
                throw APIError(
                    .badRequest, "query parameter 'exploration_strength' needs 'exploration' (thompson or ucb)")
            }
            return .greedy
        }
        do {
            return try ExplorationPolicy(name: name, strength: strength)
        } catch {
            throw APIError(.badRequest, "query parameter 'exploration': \(error.message)")
        }
    }

    private func boolean(_ request: Request, _ name: String, default value: Bool) throws -> Bool {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError(.badRequest, "query parameter '\(name)': expected true or false, found '\(text)'")
        }
    }

    private func grant(_ request: Request) -> Authorization.Grant? {
        authorization.grant(bearer: request.headers[.authorization])
    }

    /// Any valid token (admin, or a session); the caller checks a session's user.
    private func requireWriter(_ request: Request) throws -> Authorization.Grant {
        guard let grant = grant(request) else {
            throw APIError(.unauthorized, "this request needs 'Authorization: Bearer <token>'")
        }
        return grant
    }

    private func requireAdmin(_ request: Request) throws {
        guard grant(request) == .admin else {
            throw APIError(.unauthorized, "this request needs the admin token ('Authorization: Bearer <token>')")
        }
    }

    private func authorizeWrite(_ request: Request, user: String) throws {
        switch try requireWriter(request) {
        case .admin: return
        case .user(let allowed) where allowed == user: return
        case .user(let allowed): throw APIError(.forbidden, "this session may only write for user '\(allowed)'")
        }
    }

    private func authorizeRead(_ request: Request, user: String?) throws {
        guard options.protectReads else { return }
        switch grant(request) {
        case .admin?: return
        case .user(let allowed)? where user == nil || allowed == user: return
        default: throw APIError(.unauthorized, "reads need 'Authorization: Bearer <token>' on this server")
        }
    }

    private func modelView() -> ModelView {
        let bundle = service.recommender.bundle
        func fields(_ encoder: FeatureEncoder) -> [ModelView.Field] {
            encoder.fields.map { .init(name: $0.name, kind: $0.kind.rawValue) }
        }
        return ModelView(
            version: bundle.version, method: service.recommender.methodName,
            objective: service.recommender.objective.rawValue,
            scale: .init(min: bundle.description.feedback.minimum, max: bundle.description.feedback.maximum),
            hasUncertainty: service.recommender.hasUncertainty, itemFields: fields(bundle.description.itemEncoder),
            userFields: fields(bundle.description.userEncoder), itemCount: service.recommender.itemCount)
    }

    struct StatusView: Codable, Sendable {
        struct Requests: Codable, Sendable {
            var total: Int
            var lastMinute: Int
            var p50Milliseconds: Double?
            var p99Milliseconds: Double?
        }
        var model: ModelView
        var counts: StoreCounts
        var requests: Requests
        var events: [String]
    }

    private func status() async throws -> StatusView {
        let minute = service.monitor.lastMinute()
        return StatusView(
            model: modelView(), counts: try await service.store.counts(),
            requests: .init(
                total: service.monitor.requests, lastMinute: minute.count, p50Milliseconds: minute.p50,
                p99Milliseconds: minute.p99),
            events: service.monitor.events)
    }
}
