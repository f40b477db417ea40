import MetaRecCore

/// Seeded, structure-aware byte mutations for the readers' fuzzing (the fallback the brief names
/// when libFuzzer cannot instrument the readers: see Scripts/fuzz.sh). Mutations favour what
/// real files get wrong: cut lines, stray delimiters and quotes, huge or non-finite numbers,
/// leading zeros, byte-order marks, invalid UTF-8, duplicated and dropped lines.
struct Mutator {
    var random: SeededGenerator

    /// Tokens spliced into inputs: delimiters, line ends, numbers at the edges, bad text.
    static let tokens: [[UInt8]] = [
        "\n", "\r\n", "\t", "|", ",", "::", ";", "\"", "\"\"", " ", "0", "-1", "01", "007", "1e40", "-1e40", "1e308",
        "nan", "inf", "-0", "4294967296", "9223372036854775808", "99999999999999999999", "0.5", "5", "1.5e1",
        "01-Jan-1995", "31-Feb-2020", "2020-13-45", "1995", "(1995)", "()", "{", "}", "[", "]", ":", "- ", "---",
        "{}", "[]", "null", "~", "&a", "*a", "!!binary", "%YAML 1.2\n", "\u{FEFF}", "é", "\u{0}",
        "\"__metadata__\"", "\"dtype\":\"F32\"", "\"shape\":[", "\"data_offsets\":[", "F64", "BF16",
    ].map { Array($0.utf8) }

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func int(_ upper: Int) -> Int { upper <= 0 ? 0 : random.integer(below: upper) }

    /// One to four mutations of `input`.
    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + int(4)) { mutateOnce(&bytes) }
        if bytes.count > 1 << 20 { bytes.removeLast(bytes.count - (1 << 20)) }
        return bytes
    }

    private mutating func mutateOnce(_ bytes: inout [UInt8]) {
        let n = bytes.count
        switch int(10) {
        case 0 where n > 0:  // flip a bit
            bytes[int(n)] ^= UInt8(1 << int(8))
        case 1 where n > 0:  // a random byte
            bytes[int(n)] = UInt8(truncatingIfNeeded: random.next())
        case 2:  // splice a token
            bytes.insert(contentsOf: Self.tokens[int(Self.tokens.count)], at: int(n + 1))
        case 3 where n > 0:  // replace a field-sized run with a token
            let start = int(n)
            let length = min(n - start, 1 + int(8))
            bytes.replaceSubrange(start..<(start + length), with: Self.tokens[int(Self.tokens.count)])
        case 4 where n > 0:  // cut the file (a truncated last line)
            bytes.removeLast(1 + int(min(n, 64)))
        case 5 where n > 1:  // delete a range
            let start = int(n)
            let length = min(n - start, 1 + int(32))
            bytes.removeSubrange(start..<(start + length))
        case 6 where n > 1:  // duplicate a range (repeated lines, ids, keys)
            let start = int(n)
            let length = min(n - start, 1 + int(64))
            bytes.insert(contentsOf: bytes[start..<(start + length)], at: int(n + 1))
        case 7 where n > 0:  // a digit changed (ids, ratings, offsets)
            let digits = bytes.indices.filter { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
            if let i = digits.isEmpty ? nil : digits[int(digits.count)] { bytes[i] = 0x30 + UInt8(int(10)) }
        case 8:  // a run of one byte (long lines, deep nesting)
            let byte = [UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: "9"), UInt8(ascii: "|"), 0x0A][int(5)]
            bytes.insert(contentsOf: [UInt8](repeating: byte, count: 1 + int(300)), at: int(n + 1))
        default:  // drop or swap whole lines
            var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            guard lines.count > 1 else { return }
            let a = int(lines.count)
            let b = int(lines.count)
            if random.uniform() < 0.5 { lines.remove(at: a) } else { lines.swapAt(a, b) }
            bytes = Array(lines.joined(separator: [0x0A]))
        }
    }
}
