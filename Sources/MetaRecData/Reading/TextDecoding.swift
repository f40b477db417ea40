import Foundation

/// ISO-8859-1 bytes to a String: every byte is the code point of the same value, so a title
/// like "Misérables" read from u.item keeps its accent.
func decodeLatin1(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
    var ascii = true
    for i in range where bytes[i] >= 0x80 {
        ascii = false
        break
    }
    if ascii { return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
    var utf8: [UInt8] = []
    utf8.reserveCapacity(range.count * 2)
    for i in range {
        let b = bytes[i]
        if b < 0x80 {
            utf8.append(b)
        } else {
            utf8.append(0xC0 | (b >> 6))
            utf8.append(0x80 | (b & 0x3F))
        }
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
