import Crypto
import Foundation

/// Who may write: the admin token (read from a file or the environment, never the command
/// line), or a short-lived session token that authorises writes for one user only (the
/// onboarding page's visitor). Session tokens are `user.expiry.mac` with an HMAC-SHA256 mac
/// under the store's shared secret, so every replica accepts every replica's sessions.
struct Authorization: Sendable {
    enum Grant: Equatable, Sendable {
        case admin
        case user(String)
    }

    let adminToken: String?
    /// The HMAC key's bytes (SymmetricKey is not Sendable).
    let sessionKeyBytes: Data
    let sessionLifetime: TimeInterval

    init(adminToken: String?, sessionKey: Data, sessionLifetime: TimeInterval = 3600) {
        self.adminToken = adminToken
        sessionKeyBytes = sessionKey
        self.sessionLifetime = sessionLifetime
    }

    /// What the `Authorization: Bearer` header grants, or nil.
    func grant(bearer header: String?, now: Date = Date()) -> Grant? {
        guard let header, header.hasPrefix("Bearer ") else { return nil }
        let token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        if let adminToken, Self.constantTimeEqual(token, adminToken) { return .admin }
        return session(token, now: now).map(Grant.user)
    }

    /// A fresh session token for `user`.
    func issueSession(user: String, now: Date = Date()) -> (token: String, expiresAt: Date) {
        let expiry = Int64(now.addingTimeInterval(sessionLifetime).timeIntervalSince1970)
        let payload = Self.base64URL(Data(user.utf8)) + "." + String(expiry)
        return (payload + "." + mac(payload), Date(timeIntervalSince1970: TimeInterval(expiry)))
    }

    /// The user a valid, unexpired session token names.
    func session(_ token: String, now: Date) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[1]), TimeInterval(expiry) > now.timeIntervalSince1970 else {
            return nil
        }
        let payload = parts[0] + "." + parts[1]
        guard Self.constantTimeEqual(String(parts[2]), mac(String(payload))),
            let user = Self.fromBase64URL(String(parts[0]))
        else { return nil }
        return String(decoding: user, as: UTF8.self)
    }

    private func mac(_ payload: String) -> String {
        Self.base64URL(
            Data(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: SymmetricKey(data: sessionKeyBytes))))
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func fromBase64URL(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
