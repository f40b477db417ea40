/// CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, as in zlib, PNG and Python's
/// `zlib.crc32`), table-driven. It guards checkpoints against accidental damage such as bit rot
/// or a truncated copy; it is not a defence against deliberate tampering.
///
/// ```swift
/// var crc = CRC32()
/// crc.update(Array("123456789".utf8))
/// crc.value  // 0xCBF43926
/// ```
struct CRC32: Sendable {
    private static let table: [UInt32] = (0..<256).map { index in
        var entry = UInt32(index)
        for _ in 0..<8 {
            entry = entry & 1 == 1 ? (entry >> 1) ^ 0xEDB8_8320 : entry >> 1
        }
        return entry
    }

    private var state: UInt32 = 0xFFFF_FFFF

    /// The checksum of everything passed to `update` so far.
    var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The checksum as eight lower-case hex digits, the form stored in a checkpoint.
    var hexValue: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        Self.table.withUnsafeBufferPointer { table in
            var crc = state
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
            state = crc
        }
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }
}
