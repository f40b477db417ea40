import Crypto

/// SHA-256 of input files, so that a report can state them as the protocol asks
/// (Docs/protocol.md, Reporting). From swift-crypto rather than written by hand.
enum Checksum {
    /// The SHA-256 digest of `bytes` as 64 lower-case hex digits.
    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
    }
}
