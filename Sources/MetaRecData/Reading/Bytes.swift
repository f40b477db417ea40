import Foundation

// Byte-level parsing. The big files (1M+ lines) are read whole and parsed in place: no String
// per line and no Foundation scanning, which is what keeps reading 1M ratings well under a second.

/// A whole input file in memory.
struct TextFile {
    let name: String
    let path: String
    let bytes: [UInt8]

    /// Reads `url`; a missing or unreadable file is a `DataError` naming it.
    static func read(_ url: URL, label: String? = nil) throws -> TextFile {
        let path = url.path
        let name = label ?? url.lastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(file: name, "file not found (expected at \(path))")
        }
        if isDirectory.boolValue { throw DataError(file: name, "is a directory, expected a file (\(path))") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataError(file: name, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataError(file: name, "cannot stat \(path)") }
        let size = Int(info.st_size)
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let n = Foundation.read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 { if errno == EINTR { continue }; failure = errno; break }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failure != 0 { throw DataError(file: name, "cannot read \(path): \(String(cString: strerror(failure)))") }
        return TextFile(name: name, path: path, bytes: bytes)
    }

    var checksum: String { SHA256.hex(bytes) }
}

/// Calls `body(lineNumber, range)` for each non-blank line, without its "\n" or "\r\n".
@inline(__always)
func forEachLine(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Range<Int>) throws -> Void) rethrows {
    let count = bytes.count
    var start = 0
    var lineNumber = 0
    while start < count {
        lineNumber += 1
        var end = start
        while end < count && bytes[end] != 0x0A { end += 1 }
        var stop = end
        if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
        var blank = true
        var i = start
        while i < stop { if bytes[i] != 0x20 && bytes[i] != 0x09 { blank = false; break }; i += 1 }
        if !blank { try body(lineNumber, start..<stop) }
        start = end + 1
    }
}

/// One field of a line; `quoted` fields have had their surrounding quotes removed and may
/// contain doubled quotes ("") to unescape.
struct Field {
    var range: Range<Int>
    var quoted: Bool
}

/// Splits `line` on `delimiter` (one or more bytes) into `fields`. With `quotes`, a field that
/// starts with `"` runs to the matching quote (commas inside are data). Returns false on an
/// unterminated quote.
@inline(__always)
func splitFields(
    _ bytes: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, delimiter: [UInt8], quotes: Bool,
    into fields: inout [Field]
) -> Bool {
    fields.removeAll(keepingCapacity: true)
    let end = line.upperBound
    let d0 = delimiter[0]
    let dn = delimiter.count
    var i = line.lowerBound
    while true {
        if quotes && i < end && bytes[i] == 0x22 {
            var j = i + 1
            var closed = false
            while j < end {
                if bytes[j] == 0x22 {
                    if j + 1 < end && bytes[j + 1] == 0x22 { j += 2; continue }
                    closed = true
                    break
                }
                j += 1
            }
            guard closed else { return false }
            fields.append(Field(range: (i + 1)..<j, quoted: true))
            i = j + 1
            // Skip to the delimiter (anything between the closing quote and it is ignored).
            while i < end && !matches(bytes, i, end, d0, delimiter, dn) { i += 1 }
            if i >= end { return true }
            i += dn
            continue
        }
        var j = i
        while j < end && !matches(bytes, j, end, d0, delimiter, dn) { j += 1 }
        fields.append(Field(range: i..<j, quoted: false))
        if j >= end { return true }
        i = j + dn
        if i >= end { fields.append(Field(range: end..<end, quoted: false)); return true }
    }
}

@inline(__always)
private func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, _ d0: UInt8, _ delimiter: [UInt8], _ dn: Int) -> Bool {
    if bytes[i] != d0 { return false }
    if dn == 1 { return true }
    if i + dn > end { return false }
    for k in 1..<dn where bytes[i + k] != delimiter[k] { return false }
    return true
}

@inline(__always)
func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
    var a = range.lowerBound, b = range.upperBound
    while a < b && (bytes[a] == 0x20 || bytes[a] == 0x09) { a += 1 }
    while b > a && (bytes[b - 1] == 0x20 || bytes[b - 1] == 0x09) { b -= 1 }
    return a..<b
}

/// A decimal integer with optional sign and surrounding blanks; nil otherwise.
@inline(__always)
func parseInt(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
    let r = trimmed(bytes, range)
    var i = r.lowerBound
    let end = r.upperBound
    guard i < end else { return nil }
    var negative = false
    if bytes[i] == 0x2D || bytes[i] == 0x2B { negative = bytes[i] == 0x2D; i += 1 }
    guard i < end, end - i <= 18 else { return nil }
    var value: Int64 = 0
    while i < end {
        let digit = bytes[i] &- 0x30
        guard digit < 10 else { return nil }
        value = value * 10 + Int64(digit)
        i += 1
    }
    return negative ? -value : value
}

private let powersOfTen: [Double] = (0...22).map { pow(10.0, Double($0)) }

/// A decimal number such as "4", "3.5", "-0.25", "1e-3", with surrounding blanks; nil otherwise
/// (including nan and inf, which no rating or feature may be).
@inline(__always)
func parseDouble(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Double? {
    let r = trimmed(bytes, range)
    var i = r.lowerBound
    let end = r.upperBound
    guard i < end else { return nil }
    var negative = false
    if bytes[i] == 0x2D || bytes[i] == 0x2B { negative = bytes[i] == 0x2D; i += 1 }
    var mantissa: UInt64 = 0
    var exponent = 0
    var digits = 0
    while i < end, bytes[i] &- 0x30 < 10 {
        if mantissa < 100_000_000_000_000_000 { mantissa = mantissa * 10 + UInt64(bytes[i] &- 0x30) } else { exponent += 1 }
        digits += 1
        i += 1
    }
    if i < end && bytes[i] == 0x2E {
        i += 1
        while i < end, bytes[i] &- 0x30 < 10 {
            if mantissa < 100_000_000_000_000_000 { mantissa = mantissa * 10 + UInt64(bytes[i] &- 0x30); exponent -= 1 }
            digits += 1
            i += 1
        }
    }
    guard digits > 0 else { return nil }
    if i < end && (bytes[i] == 0x65 || bytes[i] == 0x45) {
        i += 1
        var expNegative = false
        if i < end && (bytes[i] == 0x2D || bytes[i] == 0x2B) { expNegative = bytes[i] == 0x2D; i += 1 }
        var e = 0
        var expDigits = 0
        while i < end, bytes[i] &- 0x30 < 10 {
            if e < 10_000 { e = e * 10 + Int(bytes[i] &- 0x30) }
            expDigits += 1
            i += 1
        }
        guard expDigits > 0 else { return nil }
        exponent += expNegative ? -e : e
    }
    guard i == end else { return nil }
    var value = Double(mantissa)
    if exponent != 0 {
        if exponent > 0 && exponent <= 22 { value *= powersOfTen[exponent] }
        else if exponent < 0 && exponent >= -22 { value /= powersOfTen[-exponent] }
        else { value *= pow(10.0, Double(exponent)) }
    }
    guard value.isFinite else { return nil }
    return negative ? -value : value
}

/// ISO-8859-1 bytes to a String: every byte is the code point of the same value, so a title
/// like "Misérables" read from u.item keeps its accent.
func decodeLatin1(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
    var ascii = true
    for i in range where bytes[i] >= 0x80 { ascii = false; break }
    if ascii { return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
    var utf8: [UInt8] = []
    utf8.reserveCapacity(range.count * 2)
    for i in range {
        let b = bytes[i]
        if b < 0x80 { utf8.append(b) } else { utf8.append(0xC0 | (b >> 6)); utf8.append(0x80 | (b & 0x3F)) }
    }
    return String(decoding: utf8, as: UTF8.self)
}

/// UTF-8 when the bytes are valid UTF-8, else ISO-8859-1 (MovieLens 10M and "latest" are
/// UTF-8; older exports are Latin-1).
func decodeText(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, latin1: Bool = false) -> String {
    if latin1 { return decodeLatin1(bytes, range) }
    let slice = UnsafeBufferPointer(rebasing: bytes[range])
    if let s = String(validating: slice, as: UTF8.self) { return s }
    return decodeLatin1(bytes, range)
}

/// A field's text, unescaping doubled quotes in quoted CSV fields.
func fieldText(_ bytes: UnsafeBufferPointer<UInt8>, _ field: Field, latin1: Bool = false) -> String {
    let text = decodeText(bytes, field.quoted ? field.range : trimmed(bytes, field.range), latin1: latin1)
    return field.quoted && text.contains("\"\"") ? text.replacingOccurrences(of: "\"\"", with: "\"") : text
}

// MARK: - Dates

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// The calendar year of a time in seconds since 1970 (UTC).
func yearOf(seconds: Int64) -> Int {
    let days = Int((seconds >= 0 ? seconds : seconds - 86_399) / 86_400)
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let month = mp < 10 ? mp + 3 : mp - 9
    return yoe + era * 400 + (month <= 2 ? 1 : 0)
}

func secondsOf(year: Int, month: Int = 1, day: Int = 1) -> Int64 {
    Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400
}

private let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

/// Parses a date: "01-Jan-1995" (MovieLens 100K), "1995-01-31", "1995-01-31T12:00:00[Z]",
/// "1995-01-31 12:00:00", "1995" (a year), or integer seconds since 1970. Nil otherwise.
func parseDate(_ text: String) -> Int64? {
    let s = text.trimmingCharacters(in: .whitespaces)
    if s.isEmpty { return nil }
    let utf8 = Array(s.utf8)
    func number(_ a: Int, _ b: Int) -> Int? {
        guard a >= 0, b <= utf8.count, a < b else { return nil }
        var v = 0
        for i in a..<b { let d = Int(utf8[i]) - 48; guard d >= 0 && d < 10 else { return nil }; v = v * 10 + d }
        return v
    }
    if utf8.count == 4, let year = number(0, 4) { return secondsOf(year: year) }
    if utf8.allSatisfy({ ($0 >= 48 && $0 < 58) || $0 == 45 }), let v = Int64(s) { return v }
    // d-Mon-yyyy or dd-Mon-yyyy
    let parts = s.split(separator: "-", omittingEmptySubsequences: false)
    if parts.count == 3, let m = monthNames.firstIndex(of: parts[1].lowercased()) {
        guard parts[0].count <= 2, let day = Int(parts[0]), (1...31).contains(day), parts[2].count == 4, let year = Int(parts[2]) else { return nil }
        return secondsOf(year: year, month: m + 1, day: day)
    }
    // yyyy-mm-dd[(T| )hh:mm[:ss]][Z]
    if utf8.count >= 10, utf8[4] == 45, utf8[7] == 45, let year = number(0, 4), let month = number(5, 7), let day = number(8, 10),
        (1...12).contains(month), (1...31).contains(day) {
        var seconds = secondsOf(year: year, month: month, day: day)
        if utf8.count >= 16, utf8[10] == 84 || utf8[10] == 32, let h = number(11, 13), utf8[13] == 58, let m = number(14, 16) {
            seconds += Int64(h * 3600 + m * 60)
            if utf8.count >= 19, utf8[16] == 58, let sec = number(17, 19) { seconds += Int64(sec) }
        } else if utf8.count != 10 {
            return nil
        }
        return seconds
    }
    return nil
}

/// The year in a MovieLens title such as "Toy Story (1995)", nil when the title has none.
func yearInTitle(_ title: String) -> Int? {
    let u = Array(title.utf8)
    var end = u.count
    while end > 0 && (u[end - 1] == 32 || u[end - 1] == 9) { end -= 1 }
    guard end >= 6, u[end - 1] == 41, u[end - 6] == 40 else { return nil }
    var year = 0
    for i in (end - 5)..<(end - 1) {
        let d = Int(u[i]) - 48
        guard d >= 0 && d < 10 else { return nil }
        year = year * 10 + d
    }
    return year
}

// MARK: - External ids

/// Maps external ids (as bytes) to dense indices while reading, then renumbers them in sorted
/// order (numeric ids numerically, then other ids lexicographically) so internal ids do not
/// depend on file order.
struct IDCollector {
    private var numeric: [Int64: Int32] = [:]
    private var strings: [String: Int32] = [:]
    private(set) var externals: [String] = []
    private var numericValue: [Int64?] = []
    /// provisional index → final index, after `finish()`.
    private(set) var remap: [Int32] = []

    init(expected: Int = 0) { numeric.reserveCapacity(expected) }

    var count: Int { externals.count }

    /// A canonical decimal (no sign, no leading zero, at most 18 digits) is kept as a number.
    @inline(__always)
    static func canonicalNumber(_ bytes: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int64? {
        let n = r.count
        guard n > 0, n <= 18 else { return nil }
        if n > 1 && bytes[r.lowerBound] == 0x30 { return nil }
        var v: Int64 = 0
        for i in r {
            let d = bytes[i] &- 0x30
            guard d < 10 else { return nil }
            v = v * 10 + Int64(d)
        }
        return v
    }

    /// The provisional index of an id, adding it when new. Nil for an empty id.
    @inline(__always)
    mutating func index(_ bytes: UnsafeBufferPointer<UInt8>, _ field: Field, latin1: Bool = false) -> Int32? {
        let r = field.quoted ? field.range : trimmed(bytes, field.range)
        if r.isEmpty { return nil }
        if !field.quoted, let v = Self.canonicalNumber(bytes, r) { return index(number: v) }
        return index(string: fieldText(bytes, field, latin1: latin1))
    }

    @inline(__always)
    mutating func index(number v: Int64) -> Int32 {
        if let found = numeric[v] { return found }
        let next = Int32(externals.count)
        numeric[v] = next
        externals.append(String(v))
        numericValue.append(v)
        return next
    }

    mutating func index(string s: String) -> Int32 {
        if let v = canonicalNumber(s) { return index(number: v) }
        if let found = strings[s] { return found }
        let next = Int32(externals.count)
        strings[s] = next
        externals.append(s)
        numericValue.append(nil)
        return next
    }

    private func canonicalNumber(_ s: String) -> Int64? {
        var s = s
        return s.withUTF8 { Self.canonicalNumber($0, 0..<$0.count) }
    }

    /// Renumbers in sorted order; returns the external ids by final index.
    mutating func finish() -> [String] {
        let order = (0..<externals.count).sorted { a, b in
            switch (numericValue[a], numericValue[b]) {
            case let (x?, y?): return x < y
            case (.some, .none): return true
            case (.none, .some): return false
            case (.none, .none): return externals[a] < externals[b]
            }
        }
        remap = [Int32](repeating: 0, count: externals.count)
        for (final, provisional) in order.enumerated() { remap[provisional] = Int32(final) }
        return order.map { externals[$0] }
    }

    /// The final index of an id already seen (after `finish()`), nil otherwise.
    func finalIndex(_ bytes: UnsafeBufferPointer<UInt8>, _ field: Field, latin1: Bool = false) -> Int32? {
        let r = field.quoted ? field.range : trimmed(bytes, field.range)
        if r.isEmpty { return nil }
        if !field.quoted, let v = Self.canonicalNumber(bytes, r) { return numeric[v].map { remap[Int($0)] } }
        return finalIndex(string: fieldText(bytes, field, latin1: latin1))
    }

    func finalIndex(string s: String) -> Int32? {
        if let v = canonicalNumber(s) { return numeric[v].map { remap[Int($0)] } }
        return strings[s].map { remap[Int($0)] }
    }
}

/// Renumbers provisional ids, removes duplicate (user, item) rows keeping the latest (largest
/// timestamp; on a tie the later row), and orders by user, time, item: the invariants of `Dataset`.
/// `raw` is in file order.
func canonicalize(_ raw: [Interaction], userRemap: [Int32], itemRemap: [Int32], userCount: Int) -> (interactions: [Interaction], duplicates: Int) {
    // Counting sort by final user; stable, so file order survives within a user.
    var starts = [Int](repeating: 0, count: userCount + 1)
    for x in raw { starts[Int(userRemap[Int(x.user)]) + 1] += 1 }
    for u in 0..<userCount { starts[u + 1] += starts[u] }
    var cursor = starts
    var grouped = [Interaction](unsafeUninitializedCapacity: raw.count) { buffer, initialized in
        for x in raw {
            let u = Int(userRemap[Int(x.user)])
            buffer[cursor[u]] = Interaction(user: Int32(u), item: itemRemap[Int(x.item)], value: x.value, timestamp: x.timestamp)
            cursor[u] += 1
        }
        initialized = raw.count
    }
    var duplicates = 0
    var write = 0
    var order: [Int32] = []
    var seen: [Int32: Int] = [:]
    grouped.withUnsafeMutableBufferPointer { g in
        for u in 0..<userCount {
            let a = starts[u], b = starts[u + 1]
            if a == b { continue }
            // Deduplicate: later row wins unless its timestamp is older.
            seen.removeAll(keepingCapacity: true)
            order.removeAll(keepingCapacity: true)
            for k in a..<b {
                if let previous = seen[g[k].item] {
                    duplicates += 1
                    if g[k].timestamp >= g[Int(order[previous])].timestamp { order[previous] = Int32(k) }
                } else {
                    seen[g[k].item] = order.count
                    order.append(Int32(k))
                }
            }
            var block = order.map { g[Int($0)] }
            block.sort { $0.timestamp != $1.timestamp ? $0.timestamp < $1.timestamp : $0.item < $1.item }
            for x in block { g[write] = x; write += 1 }
        }
    }
    grouped.removeLast(grouped.count - write)
    return (grouped, duplicates)
}
