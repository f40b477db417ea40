import Foundation

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
        while i < stop {
            if bytes[i] != 0x20 && bytes[i] != 0x09 {
                blank = false
                break
            }
            i += 1
        }
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
                    if j + 1 < end && bytes[j + 1] == 0x22 {
                        j += 2
                        continue
                    }
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
        if i >= end {
            fields.append(Field(range: end..<end, quoted: false))
            return true
        }
    }
}

@inline(__always)
private func matches(
    _ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, _ d0: UInt8, _ delimiter: [UInt8], _ dn: Int
) -> Bool {
    if bytes[i] != d0 { return false }
    if dn == 1 { return true }
    if i + dn > end { return false }
    for k in 1..<dn where bytes[i + k] != delimiter[k] { return false }
    return true
}
