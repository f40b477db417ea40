import ArgumentParser
import Foundation
import MetaRecPostgresStore
import MetaRecStore

/// Where `metarec serve` keeps its state, from `--store`: `sqlite:PATH` or a plain path (one
/// process), or `postgres://user@host:port/database` (several processes sharing one store).
/// Messages name the scheme or the part that is wrong, never the whole string, and never a
/// password.
enum StoreLocation: CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresStore.Configuration)

    /// Parses `text`; `password` is used only for PostgreSQL (from ``password(file:environment:)``).
    static func parse(_ text: String, password: String? = nil) throws -> StoreLocation {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ValidationError("--store sqlite: needs a path (sqlite:PATH)") }
            return .sqlite(path: path)
        }
        guard let scheme = scheme(of: text) else {
            guard !text.isEmpty else { throw ValidationError("--store is empty") }
            return .sqlite(path: text)
        }
        switch scheme.lowercased() {
        case "postgres", "postgresql":
            do {
                return .postgres(try PostgresStore.Configuration(url: text, password: password))
            } catch let error as StoreError {
                throw ValidationError("--store: \(error.description)")
            }
        default:
            throw ValidationError(
                "--store: unknown scheme '\(scheme)' (expected sqlite:PATH, a plain path, or postgres://user@host:port/database)"
            )
        }
    }

    /// The PostgreSQL password: the first line of `file` if given, else `PGPASSWORD`, else none.
    static func password(file: String?, environment: [String: String]) throws -> String? {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--store-password-file \(file): cannot be read")
            }
            let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(
                String.init)
            guard let line, !line.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--store-password-file \(file): is empty")
            }
            return line.hasSuffix("\r") ? String(line.dropLast()) : line
        }
        guard let value = environment["PGPASSWORD"], !value.isEmpty else { return nil }
        return value
    }

    /// A URL-like scheme before the first ':' (letters, digits, '+', '-', '.'), if `text` has one.
    private static func scheme(of text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return nil }
        return String(scheme)
    }

    /// Parses `text` (the password from `passwordFile` or PGPASSWORD) and opens the store.
    static func open(_ text: String, passwordFile: String? = nil) async throws -> any RecommendationStore {
        let password = try password(file: passwordFile, environment: ProcessInfo.processInfo.environment)
        return try await parse(text, password: password).open()
    }

    func open() async throws -> any RecommendationStore {
        switch self {
        case .sqlite(let path): try SQLiteStore(path: path)
        case .postgres(let configuration): try await PostgresStore(configuration: configuration)
        }
    }

    /// The file path for SQLite, nil for PostgreSQL.
    var path: String? {
        if case .sqlite(let path) = self { return path }
        return nil
    }

    /// For messages: the path, or the URL without a password.
    var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let configuration): configuration.description
        }
    }
}
