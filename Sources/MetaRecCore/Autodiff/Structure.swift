/// Joins matrices with equal row counts side by side (along the feature axis).
public func concatenateColumns(_ parts: [Tensor]) -> Tensor {
    precondition(!parts.isEmpty, "concatenateColumns: nothing to join")
    let rows = parts[0].shape.first ?? 0
    for part in parts where part.rank != 2 || part.shape[0] != rows {
        preconditionFailure(
            ShapeError(
                operation: "concatenateColumns", shapes: parts.map(\.shape),
                expectation: "expected matrices with \(rows) rows"
            ).description)
    }
    let widths = parts.map { $0.shape[1] }
    let total = widths.reduce(0, +)
    var values = [Float](repeating: 0, count: rows * total)
    var offset = 0
    for (part, width) in zip(parts, widths) {
        let source = part.denseValues
        for i in 0..<rows {
            for j in 0..<width { values[i * total + offset + j] = source[i * width + j] }
        }
        offset += width
    }
    return record("concatenateColumns", parts, shape: [rows, total], values: values) { g, needed in
        var start = 0
        return widths.enumerated().map { index, width in
            defer { start += width }
            return needed[index] ? g.columns(start..<(start + width)) : nil
        }
    }
}

extension Tensor {
    /// A block of columns of a matrix.
    public func columns(_ range: Range<Int>) -> Tensor {
        precondition(
            rank == 2 && range.lowerBound >= 0 && range.upperBound <= shape[1],
            "columns: range \(range) outside matrix of shape \(shape)")
        let (m, n, width) = (shape[0], shape[1], range.count)
        let source = denseValues
        var values = [Float](repeating: 0, count: m * width)
        for i in 0..<m {
            for j in 0..<width { values[i * width + j] = source[i * n + range.lowerBound + j] }
        }
        return record("columns", [self], shape: [m, width], values: values) { g, _ in
            [g.paddedColumns(before: range.lowerBound, totalWidth: n)]
        }
    }

    /// Places a matrix's columns at `before` inside zeros of `totalWidth`; the adjoint of
    /// ``columns(_:)``.
    func paddedColumns(before: Int, totalWidth: Int) -> Tensor {
        let (m, width) = (shape[0], shape[1])
        let source = denseValues
        var values = [Float](repeating: 0, count: m * totalWidth)
        for i in 0..<m {
            for j in 0..<width { values[i * totalWidth + before + j] = source[i * width + j] }
        }
        return record("padColumns", [self], shape: [m, totalWidth], values: values) { g, _ in
            [g.columns(before..<(before + width))]
        }
    }
}
