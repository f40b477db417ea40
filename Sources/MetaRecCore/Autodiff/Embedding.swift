/// Variable-length lists of row indices stored back to back (compressed sparse rows): list
/// `i` is `indices[offsets[i]..<offsets[i + 1]]`. Multi-valued features (a film's genres, its
/// actors) are lists; single-valued ones are lists of one.
public struct IndexLists: Sendable, Equatable {
    public var indices: [Int32]
    public var offsets: [Int32]

    public init(indices: [Int32], offsets: [Int32]) {
        precondition(
            offsets.first == 0 && offsets.last.map(Int.init) == indices.count,
            "IndexLists: offsets must start at 0 and end at the index count \(indices.count)")
        self.indices = indices
        self.offsets = offsets
    }

    public init(_ lists: [[Int32]]) {
        var indices: [Int32] = []
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(lists.count + 1)
        for list in lists {
            indices.append(contentsOf: list)
            offsets.append(Int32(indices.count))
        }
        self.indices = indices
        self.offsets = offsets
    }

    /// Number of lists.
    public var count: Int { offsets.count - 1 }

    /// The largest index plus one, or 0.
    var bound: Int32 { (indices.max() ?? -1) + 1 }
}

/// For each list, the mean of the listed rows of `table` (`[rows, width]`): `[lists, width]`.
/// An empty list gives zeros.
///
/// The gradient with respect to the table touches only the listed rows and is returned in the
/// row-sparse layout, so a batch costs in proportion to its indices, not to the table.
public func embeddingBag(_ table: Tensor, _ lists: IndexLists) -> Tensor {
    precondition(table.rank == 2, "embeddingBag: expected a table of rank 2, got shape \(table.shape)")
    let (rows, width) = (table.shape[0], table.shape[1])
    precondition(
        lists.indices.allSatisfy { $0 >= 0 && Int($0) < rows },
        "embeddingBag: an index is outside the table's \(rows) rows")
    let source = table.denseValues
    var values = [Float](repeating: 0, count: lists.count * width)
    source.withUnsafeBufferPointer { t in
        values.withUnsafeMutableBufferPointer { out in
            for list in 0..<lists.count {
                let (start, end) = (Int(lists.offsets[list]), Int(lists.offsets[list + 1]))
                guard end > start else { continue }
                let scale = 1 / Float(end - start)
                let target = list * width
                for position in start..<end {
                    let row = Int(lists.indices[position]) * width
                    for j in 0..<width { out[target + j] += t[row + j] * scale }
                }
            }
        }
    }
    return record("embeddingBag", [table], shape: [lists.count, width], values: values) { g, _ in
        [scatterMean(g, lists, rows: rows)]
    }
}

/// The adjoint of ``embeddingBag(_:_:)``: adds each list's gradient row, divided by the list's
/// length, into the rows it lists. Row-sparse unless it records (then dense, so that it can be
/// differentiated again).
func scatterMean(_ gradient: Tensor, _ lists: IndexLists, rows: Int) -> Tensor {
    let width = gradient.shape[1]
    let source = gradient.denseValues
    let sorted = Array(Set(lists.indices)).sorted()
    var slot = [Int32: Int](minimumCapacity: sorted.count)
    for (position, row) in sorted.enumerated() { slot[row] = position }
    var compact = [Float](repeating: 0, count: sorted.count * width)
    for list in 0..<lists.count {
        let (start, end) = (Int(lists.offsets[list]), Int(lists.offsets[list + 1]))
        guard end > start else { continue }
        let scale = 1 / Float(end - start)
        for position in start..<end {
            let target = slot[lists.indices[position]]! * width
            for j in 0..<width { compact[target + j] += source[list * width + j] * scale }
        }
    }
    let sparse = Tensor(rows: rows, width: width, rowIndices: sorted, values: compact)
    guard GradientMode.isRecording, gradient.requiresGradient else { return sparse }
    return record("scatterMean", [gradient], shape: [rows, width], values: sparse.denseValues) { g, _ in
        [embeddingBag(g, lists)]
    }
}
