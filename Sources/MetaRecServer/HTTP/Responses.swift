import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MetaRecModels
import MetaRecStore
import NIOCore

/// A 4xx answer whose JSON body `{"error": ...}` names the field or id at fault.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    /// Headers the answer carries besides the JSON body's (`Allow` on a 405).
    var headers: HTTPFields

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        JSON.response(ErrorView(error: message), status: status, headers: headers)
    }
}

enum JSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:])
        -> Response
    {
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"the response could not be encoded"}"#.utf8)
        return response(bytes: data, status: status, headers: headers)
    }

    static func response(bytes: Data, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Reads a bounded body and decodes it; errors name the offending field.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        try decode(type, from: try await body(of: request, limit: limit))
    }

    /// A request's body, at most `limit` bytes (413 beyond), not empty.
    static func body(of request: Request, limit: Int) async throws -> Data {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "the request body is larger than \(limit) bytes")
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "the request body is larger than \(limit) bytes")
        }
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
        guard !bytes.isEmpty else { throw APIError(.badRequest, "the request needs a JSON body") }
        return Data(bytes)
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: Data) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: bytes)
        } catch let error as DecodingError {
            throw APIError(.badRequest, describe(error))
        }
    }

    /// What an `Idempotency-Key` is bound to: the method, the path and the body's bytes.
    static func digest(method: String, path: String, body: Data) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("\(method) \(path)\n".utf8))
        hasher.update(data: body)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// "field.path: what was wrong", from a decoding error.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            let trimmed = text.hasPrefix(".") ? String(text.dropFirst()) : text
            return trimmed.isEmpty ? "body" : trimmed
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(typeName(type)); \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(typeName(type)), found null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required field is missing"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "the body is not valid: \(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Double.Type, is Float.Type, is Int.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is FeedbackBody.Value.Type: return "a number, or true or false"
        default: return "\(type)"
        }
    }
}

/// Turns every error into a JSON error answer; anything unexpected is logged and becomes a 500
/// that reveals nothing.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return JSON.response(ErrorView(error: error.message), status: error.status, headers: error.headers)
        } catch let error as RecommenderError {
            return JSON.response(
                ErrorView(error: error.description), status: error.kind == .unknownItem ? .notFound : .badRequest)
        } catch let error as RecommendationService.FeedbackRefusal {
            let status: HTTPResponse.Status
            switch error.kind {
            case .unknownItem: status = .notFound
            case .hiddenItem, .keyReused: status = .conflict
            case .badValue: status = .badRequest
            }
            return JSON.response(ErrorView(error: error.message), status: status)
        } catch let error as StoreError where error.kind == .unavailable {
            logger.warning("\(request.method) \(request.uri.path): the store is unavailable: \(error)")
            return JSON.response(
                ErrorView(error: "the store is unavailable; try again shortly"), status: .serviceUnavailable,
                headers: [.retryAfter: "1"])
        } catch let error as HTTPError {
            let message =
                error.body
                ?? (error.status == .notFound
                    ? "no such endpoint: \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return JSON.response(ErrorView(error: message), status: error.status)
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return JSON.response(ErrorView(error: "internal error"), status: .internalServerError)
        }
    }
}

extension HTTPField.Name {
    /// A client's key for a write it may retry (IETF draft "The Idempotency-Key HTTP Header Field").
    static let idempotencyKey = Self("Idempotency-Key")!
    /// Set on the answer to a retried write: the first answer, given again; nothing was stored.
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
