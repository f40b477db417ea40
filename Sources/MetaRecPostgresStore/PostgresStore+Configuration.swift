import Foundation
import MetaRecStore

extension PostgresStore {
    /// Where the PostgreSQL store is and how to reach it. The password is never part of the
    /// location string (it would show in `ps` and in logs): it comes from `PGPASSWORD` or a
    /// password file, and ``description`` never shows it.
    public struct Configuration: Sendable, CustomStringConvertible {
        public enum TLSMode: String, Sendable {
            /// Plain TCP (a server on loopback).
            case disable
            /// TLS if the server offers it, else plain TCP (PostgreSQL's default `sslmode`).
            case prefer
            /// TLS with the server's certificate verified.
            case require
        }

        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        /// A schema to keep the tables in (created if absent); nil: the user's default search path.
        public var schema: String?
        public var tls: TLSMode
        /// How long to wait for a new connection before the store counts as unavailable.
        public var connectTimeout: Duration = .seconds(5)
        /// How long one call may wait for a connection and run before it fails as unavailable:
        /// while the server is down the pool keeps a caller waiting (up to a minute) rather than
        /// failing it, and the service should answer 503 well before a client gives up.
        public var operationTimeout: Duration = .seconds(10)
        /// Connections the pool may open (per process).
        public var maximumConnections: Int = 8

        public init(
            host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
            schema: String? = nil, tls: TLSMode = .prefer
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.schema = schema
            self.tls = tls
        }

        /// Parses `postgres://user@host:port/database`, with optional query items `schema=NAME`
        /// and `sslmode=disable|prefer|require`. A password inside the URL is refused (without
        /// repeating it): pass it as `password` (from `PGPASSWORD` or a file) instead.
        public init(url: String, password: String? = nil) throws {
            // Never echo `url` itself in an error: a mistyped one may still hold a password.
            guard let components = URLComponents(string: url) else {
                throw StoreError(
                    "the PostgreSQL location is not a valid URL (expected postgres://user@host:port/database)")
            }
            let scheme = components.scheme?.lowercased() ?? ""
            guard scheme == "postgres" || scheme == "postgresql" else {
                throw StoreError(
                    "the PostgreSQL location has scheme '\(scheme)'; expected postgres://user@host:port/database")
            }
            if components.password != nil {
                throw StoreError(
                    "the PostgreSQL location holds a password; remove it from the URL and set PGPASSWORD or pass a password file"
                )
            }
            guard let host = components.host, !host.isEmpty else {
                throw StoreError("the PostgreSQL location names no host (expected postgres://user@host:port/database)")
            }
            let username = components.user ?? ""  // already percent-decoded
            guard !username.isEmpty else {
                throw StoreError("the PostgreSQL location names no user (expected postgres://user@host:port/database)")
            }
            let path = components.path  // already percent-decoded
            let database = path.hasPrefix("/") ? String(path.dropFirst()) : path
            guard !database.isEmpty, !database.contains("/") else {
                throw StoreError(
                    "the PostgreSQL location names no database (expected postgres://user@host:port/database)")
            }
            let port = components.port ?? 5432
            guard (1...65535).contains(port) else {
                throw StoreError("the PostgreSQL location's port \(port) is not 1 to 65535")
            }
            var schema: String?
            var tls = TLSMode.prefer
            for item in components.queryItems ?? [] {
                switch item.name {
                case "schema":
                    guard let value = item.value, Self.isPlainIdentifier(value) else {
                        throw StoreError(
                            "the PostgreSQL location's schema must be lower-case letters, digits and underscores, not starting with a digit"
                        )
                    }
                    schema = value
                case "sslmode":
                    guard let value = item.value.flatMap(TLSMode.init(rawValue:)) else {
                        throw StoreError("the PostgreSQL location's sslmode must be disable, prefer or require")
                    }
                    tls = value
                default:
                    throw StoreError(
                        "the PostgreSQL location has an unknown option '\(item.name)' (known: schema, sslmode)")
                }
            }
            self.init(
                host: host, port: port, username: username, password: password, database: database, schema: schema,
                tls: tls)
        }

        /// The location without the password, for messages.
        public var description: String {
            var text = "postgres://\(username)@\(host):\(port)/\(database)"
            if let schema { text += "?schema=\(schema)" }
            return text
        }

        /// Lower-case letters, digits and underscores: safe to splice into SQL unquoted.
        static func isPlainIdentifier(_ text: String) -> Bool {
            guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 63 else { return false }
            let lower = Set("abcdefghijklmnopqrstuvwxyz_".unicodeScalars)
            let digits = Set("0123456789".unicodeScalars)
            return lower.contains(first) && text.unicodeScalars.allSatisfy { lower.contains($0) || digits.contains($0) }
        }
    }
}
