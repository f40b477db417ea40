extension Tensor {
    /// The sum of all elements, as a scalar.
    public func sum() -> Tensor {
        let values = denseValues
        var total: Float = 0
        values.withUnsafeBufferPointer { p in
            for v in p { total += v }
        }
        let shape = self.shape
        return record("sum", [self], shape: [], values: [total]) { g, _ in [g.expanded(to: shape)] }
    }

    /// The mean of all elements, as a scalar.
    public func mean() -> Tensor {
        sum() * (1 / Float(Swift.max(count, 1)))
    }

    /// Sums over every axis but the last: `[..., n]` to `[n]`.
    public func sumLeadingAxes() -> Tensor {
        let width = shape.last ?? 1
        let rows = width == 0 ? 0 : count / width
        let values = denseValues
        var result = [Float](repeating: 0, count: width)
        values.withUnsafeBufferPointer { p in
            result.withUnsafeMutableBufferPointer { r in
                for i in 0..<rows {
                    let base = i * width
                    for j in 0..<width { r[j] += p[base + j] }
                }
            }
        }
        let shape = self.shape
        return record("sumLeadingAxes", [self], shape: [width], values: result) { g, _ in [g.expanded(to: shape)] }
    }

    /// Sums each row of a matrix: `[m, n]` to `[m]`.
    public func sumRows() -> Tensor {
        precondition(rank == 2, "sumRows: expected a matrix, got shape \(shape)")
        let (m, n) = (shape[0], shape[1])
        let values = denseValues
        var result = [Float](repeating: 0, count: m)
        for i in 0..<m {
            var total: Float = 0
            for j in 0..<n { total += values[i * n + j] }
            result[i] = total
        }
        return record("sumRows", [self], shape: [m], values: result) { g, _ in [g.repeatedAcrossColumns(n)] }
    }

    /// `[m]` to `[m, n]`, each value repeated along its row; the adjoint of ``sumRows()``.
    func repeatedAcrossColumns(_ n: Int) -> Tensor {
        precondition(rank == 1, "repeatedAcrossColumns: expected a vector, got shape \(shape)")
        let m = shape[0]
        let values = denseValues
        var result = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n { result[i * n + j] = values[i] }
        }
        return record("repeatAcrossColumns", [self], shape: [m, n], values: result) { g, _ in [g.sumRows()] }
    }

    /// Broadcasts a scalar or a row to `shape`; the adjoint of ``summed(toShape:)``.
    public func expanded(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let kind = BroadcastOperand(shape: shape, resultShape: target)
        let total = target.reduce(1, *)
        if case .row(let n) = kind {
            precondition(target.last == n, "expand: cannot broadcast shape \(shape) to \(target)")
        }
        let source = denseValues
        let values = broadcastValues(source, kind, [0], .scalar, count: total) { a, _ in a }
        let shape = self.shape
        return record("expand", [self], shape: target, values: values) { g, _ in [g.summed(toShape: shape)] }
    }

    /// Sums a broadcast result back to an operand's shape (scalar, row or same).
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        if target.reduce(1, *) == 1 { return sum().reshaped(target) }
        return sumLeadingAxes().reshaped(target)
    }

    /// The same values with another shape of the same size.
    public func reshaped(_ target: [Int]) -> Tensor {
        precondition(
            target.reduce(1, *) == count, "reshape: shape \(shape) (\(count) elements) cannot become \(target)")
        if target == shape { return self }
        let shape = self.shape
        return record("reshape", [self], shape: target, values: denseValues) { g, _ in [g.reshaped(shape)] }
    }

    /// The transpose of a matrix.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transpose: expected a matrix, got shape \(shape)")
        let (m, n) = (shape[0], shape[1])
        let source = denseValues
        var values = [Float](repeating: 0, count: count)
        for i in 0..<m {
            for j in 0..<n { values[j * m + i] = source[i * n + j] }
        }
        return record("transpose", [self], shape: [n, m], values: values) { g, _ in [g.transposed()] }
    }
}
