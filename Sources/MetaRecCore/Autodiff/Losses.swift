/// Mean squared error, mean((prediction - target)²), for ratings.
public func meanSquaredError(_ prediction: Tensor, _ target: Tensor) -> Tensor {
    precondition(
        prediction.shape == target.shape || prediction.count == target.count,
        ShapeError(
            operation: "meanSquaredError", shapes: [prediction.shape, target.shape],
            expectation: "expected equal sizes"
        ).description)
    let (p, t) = (prediction.denseValues, target.denseValues)
    var total: Float = 0
    for i in 0..<p.count {
        let d = p[i] - t[i]
        total += d * d
    }
    let n = Float(Swift.max(p.count, 1))
    return record("meanSquaredError", [prediction, target], shape: [], values: [total / n]) { g, needed in
        let scaled = (prediction - target.reshaped(prediction.shape)) * (g * (2 / n))
        return [needed[0] ? scaled : nil, needed[1] ? (-scaled).reshaped(target.shape) : nil]
    }
}

/// Binary cross-entropy of logits against 0/1 labels, mean(softplus(z) - y·z): the
/// numerically stable form of -[y log σ(z) + (1 - y) log(1 - σ(z))], for clicks.
public func binaryCrossEntropy(logits: Tensor, labels: Tensor) -> Tensor {
    precondition(
        logits.count == labels.count,
        ShapeError(
            operation: "binaryCrossEntropy", shapes: [logits.shape, labels.shape],
            expectation: "expected equal sizes"
        ).description)
    let (z, y) = (logits.denseValues, labels.denseValues)
    var total: Float = 0
    for i in 0..<z.count { total += softplusValue(z[i]) - y[i] * z[i] }
    let n = Float(Swift.max(z.count, 1))
    return record("binaryCrossEntropy", [logits, labels], shape: [], values: [total / n]) { g, needed in
        let scale = g * (1 / n)
        let labelsShaped = labels.reshaped(logits.shape)
        return [
            needed[0] ? (sigmoid(logits) - labelsShaped) * scale : nil,
            needed[1] ? (-logits * scale).reshaped(labels.shape) : nil,
        ]
    }
}
