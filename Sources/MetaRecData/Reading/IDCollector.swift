import Foundation

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
            case (let x?, let y?): return x < y
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
