import Foundation

@inline(__always)
func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
    var a = range.lowerBound
    var b = range.upperBound
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
    if bytes[i] == 0x2D || bytes[i] == 0x2B {
        negative = bytes[i] == 0x2D
        i += 1
    }
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
    if bytes[i] == 0x2D || bytes[i] == 0x2B {
        negative = bytes[i] == 0x2D
        i += 1
    }
    var mantissa: UInt64 = 0
    var exponent = 0
    var digits = 0
    while i < end, bytes[i] &- 0x30 < 10 {
        if mantissa < 100_000_000_000_000_000 {
            mantissa = mantissa * 10 + UInt64(bytes[i] &- 0x30)
        } else {
            exponent += 1
        }
        digits += 1
        i += 1
    }
    if i < end && bytes[i] == 0x2E {
        i += 1
        while i < end, bytes[i] &- 0x30 < 10 {
            if mantissa < 100_000_000_000_000_000 {
                mantissa = mantissa * 10 + UInt64(bytes[i] &- 0x30)
                exponent -= 1
            }
            digits += 1
            i += 1
        }
    }
    guard digits > 0 else { return nil }
    if i < end && (bytes[i] == 0x65 || bytes[i] == 0x45) {
        i += 1
        var expNegative = false
        if i < end && (bytes[i] == 0x2D || bytes[i] == 0x2B) {
            expNegative = bytes[i] == 0x2D
            i += 1
        }
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
        if exponent > 0 && exponent <= 22 {
            value *= powersOfTen[exponent]
        } else if exponent < 0 && exponent >= -22 {
            value /= powersOfTen[-exponent]
        } else {
            value *= pow(10.0, Double(exponent))
        }
    }
    guard value.isFinite else { return nil }
    return negative ? -value : value
}
