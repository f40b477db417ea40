/// A set of catalogue rows as one bit per row: the serving filters (hidden items, a user's rated
/// items, a candidate list, a category) combine as word operations, so a request never hashes
/// the catalogue's item ids.
public struct RowSet: Sendable, Equatable {
    private(set) var words: [UInt64]
    /// Rows `0..<count` are addressable.
    public private(set) var count: Int

    /// `count` rows, all in the set (`filled`) or none.
    public init(count: Int, filled: Bool = false) {
        self.count = count
        words = [UInt64](repeating: filled ? ~0 : 0, count: (count + 63) / 64)
        if filled { clearTail() }
    }

    /// The rows of `members` (each in `0..<count`).
    public init(count: Int, members: some Sequence<Int>) {
        self.init(count: count)
        for row in members { insert(row) }
    }

    public func contains(_ row: Int) -> Bool {
        row >= 0 && row < count && words[row >> 6] & (1 << UInt64(row & 63)) != 0
    }

    public mutating func insert(_ row: Int) {
        precondition(row >= 0 && row < count, "RowSet: row \(row) outside 0..<\(count)")
        words[row >> 6] |= 1 << UInt64(row & 63)
    }

    public mutating func remove(_ row: Int) {
        precondition(row >= 0 && row < count, "RowSet: row \(row) outside 0..<\(count)")
        words[row >> 6] &= ~(1 << UInt64(row & 63))
    }

    /// Adds one row at the end (an item added while serving).
    public mutating func append(_ member: Bool) {
        if count % 64 == 0 { words.append(0) }
        count += 1
        if member { insert(count - 1) }
    }

    public mutating func formUnion(_ other: RowSet) {
        precondition(other.count == count, "RowSet: union of \(count) and \(other.count) rows")
        for index in words.indices { words[index] |= other.words[index] }
    }

    /// Adds every row that is *not* in `other`.
    public mutating func formUnion(complementOf other: RowSet) {
        precondition(other.count == count, "RowSet: union of \(count) and \(other.count) rows")
        for index in words.indices { words[index] |= ~other.words[index] }
        clearTail()
    }

    /// Rows in the set.
    public var memberCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    private mutating func clearTail() {
        let used = count % 64
        if used != 0, !words.isEmpty { words[words.count - 1] &= (1 << UInt64(used)) - 1 }
    }
}

/// The best `count` rows of a score vector by partial selection: a bounded heap of the kept
/// rows, O(n log count), no full sort. Ties go to the lower row (catalogue order), NaN ranks
/// last, so the answer equals the first `count` of a full stable sort by score, descending.
public enum TopSelection {
    public static func best(_ count: Int, of scores: UnsafeBufferPointer<Float>, skipping skip: RowSet? = nil)
        -> [(row: Int, score: Float)]
    {
        guard count > 0 else { return [] }
        // A min-heap on (score, -row): the root is the worst row kept.
        var heap: [(score: Float, row: Int)] = []
        heap.reserveCapacity(min(count, scores.count))
        func worse(_ a: (score: Float, row: Int), _ b: (score: Float, row: Int)) -> Bool {
            a.score < b.score || (a.score == b.score && a.row > b.row)
        }
        func siftDown(_ start: Int) {
            var parent = start
            while true {
                let left = 2 * parent + 1
                guard left < heap.count else { return }
                var child = left
                if left + 1 < heap.count, worse(heap[left + 1], heap[left]) { child = left + 1 }
                guard worse(heap[child], heap[parent]) else { return }
                heap.swapAt(child, parent)
                parent = child
            }
        }
        for row in 0..<scores.count {
            if let skip, skip.contains(row) { continue }
            let raw = scores[row]
            let score = raw.isNaN ? -Float.infinity : raw
            if heap.count < count {
                heap.append((score, row))
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard worse(heap[child], heap[parent]) else { break }
                    heap.swapAt(child, parent)
                    child = parent
                }
            } else if score > heap[0].score {  // rows arrive in order: an equal score keeps the earlier row
                heap[0] = (score, row)
                siftDown(0)
            }
        }
        return heap.sorted { worse($1, $0) }.map { ($0.row, scores[$0.row]) }
    }

    public static func best(_ count: Int, of scores: [Float], skipping skip: RowSet? = nil) -> [(
        row: Int, score: Float
    )] {
        scores.withUnsafeBufferPointer { best(count, of: $0, skipping: skip) }
    }
}
