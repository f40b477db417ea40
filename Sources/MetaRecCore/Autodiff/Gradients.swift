/// Whether operations record themselves for differentiation on the current thread or task.
///
/// Recording is on by default. The backward pass turns it off unless gradients are requested
/// with `createGraph: true`, which is what makes first-order gradients cheap and second-order
/// ones possible. Inference can turn it off with ``withoutRecording(_:)``.
public enum GradientMode {
    @TaskLocal static var recording: Bool = true

    /// Whether operations currently record.
    public static var isRecording: Bool { recording }

    /// Runs `body` with recording off: nothing it computes is differentiable.
    public static func withoutRecording<T>(_ body: () throws -> T) rethrows -> T {
        try $recording.withValue(false, operation: body)
    }

    static func with<T>(recording: Bool, _ body: () throws -> T) rethrows -> T {
        try $recording.withValue(recording, operation: body)
    }
}

/// The gradients of a scalar `output` with respect to each of `inputs`.
///
/// Only the part of the graph that connects `output` to `inputs` is visited, so gradients
/// that are not asked for are not computed. An input the output does not depend on gets zeros.
///
/// - Parameters:
///   - createGraph: record the backward pass itself, so the returned gradients can be
///     differentiated again (second-order MAML, Hessian-vector products).
///   - outputGradient: the gradient to start from; defaults to 1 for a scalar output.
public func gradients(
    of output: Tensor, withRespectTo inputs: [Tensor], createGraph: Bool = false, outputGradient: Tensor? = nil
) -> [Tensor] {
    let seed: Tensor
    if let outputGradient {
        precondition(
            outputGradient.shape == output.shape,
            "gradients: output gradient of shape \(outputGradient.shape) does not match output of shape \(output.shape)"
        )
        seed = outputGradient
    } else {
        precondition(
            output.count == 1, "gradients: output of shape \(output.shape) is not a scalar; pass outputGradient")
        seed = Tensor.filled(output.shape, with: 1)
    }

    let targets = Set(inputs.map(ObjectIdentifier.init))
    // Which tensors lead to a target, and a reverse topological order of those that do.
    var leadsToTarget: [ObjectIdentifier: Bool] = [:]
    var order: [Tensor] = []
    func visit(_ root: Tensor) {
        // Iterative depth-first search: graphs of unrolled inner loops are deep.
        var stack: [(tensor: Tensor, nextInput: Int)] = [(root, 0)]
        while let (tensor, next) = stack.last {
            let id = ObjectIdentifier(tensor)
            let inputs = tensor.node?.inputs ?? []
            if next < inputs.count {
                stack[stack.count - 1].nextInput += 1
                let child = inputs[next]
                if child.requiresGradient, leadsToTarget[ObjectIdentifier(child)] == nil {
                    stack.append((child, 0))
                }
                continue
            }
            stack.removeLast()
            if leadsToTarget[id] != nil { continue }
            var leads = targets.contains(id)
            for child in inputs where leadsToTarget[ObjectIdentifier(child)] == true { leads = true }
            leadsToTarget[id] = leads
            if leads { order.append(tensor) }
        }
    }
    if output.requiresGradient { visit(output) }

    var accumulated: [ObjectIdentifier: Tensor] = [ObjectIdentifier(output): seed]
    GradientMode.with(recording: createGraph) {
        for tensor in order.reversed() {
            let id = ObjectIdentifier(tensor)
            guard let node = tensor.node, let gradient = accumulated[id] else { continue }
            if !targets.contains(id) { accumulated[id] = nil }  // free intermediate gradients early
            let needed = node.inputs.map { $0.requiresGradient && leadsToTarget[ObjectIdentifier($0)] == true }
            let inputGradients = node.backward(gradient, needed)
            for (index, input) in node.inputs.enumerated() where needed[index] {
                guard let contribution = inputGradients[index] else { continue }
                let inputID = ObjectIdentifier(input)
                if let existing = accumulated[inputID] {
                    accumulated[inputID] = accumulate(existing, contribution)
                } else {
                    accumulated[inputID] = contribution
                }
            }
        }
    }
    return inputs.map { input in
        if let gradient = accumulated[ObjectIdentifier(input)] { return gradient }
        return Tensor.zeros(input.shape)
    }
}

/// Sums two gradient contributions, keeping the row-sparse layout where both are sparse and
/// nothing records.
func accumulate(_ a: Tensor, _ b: Tensor) -> Tensor {
    if let rowsA = a.rowIndices, let rowsB = b.rowIndices, !GradientMode.isRecording {
        return addSparseRows(a, rowsA, b, rowsB)
    }
    return a + b
}

private func addSparseRows(_ a: Tensor, _ rowsA: [Int32], _ b: Tensor, _ rowsB: [Int32]) -> Tensor {
    let width = a.shape[1]
    var rows: [Int32] = []
    var values: [Float] = []
    rows.reserveCapacity(rowsA.count + rowsB.count)
    values.reserveCapacity((rowsA.count + rowsB.count) * width)
    var i = 0
    var j = 0
    while i < rowsA.count || j < rowsB.count {
        if j == rowsB.count || (i < rowsA.count && rowsA[i] < rowsB[j]) {
            rows.append(rowsA[i])
            values.append(contentsOf: a.values[i * width..<(i + 1) * width])
            i += 1
        } else if i == rowsA.count || rowsB[j] < rowsA[i] {
            rows.append(rowsB[j])
            values.append(contentsOf: b.values[j * width..<(j + 1) * width])
            j += 1
        } else {
            rows.append(rowsA[i])
            for k in 0..<width { values.append(a.values[i * width + k] + b.values[j * width + k]) }
            i += 1
            j += 1
        }
    }
    return Tensor(rows: a.shape[0], width: width, rowIndices: rows, values: values)
}

/// The Hessian of `loss` with respect to `parameter` times `vector`, by double backward
/// (Pearlmutter, "Fast Exact Multiplication by the Hessian", 1994).
public func hessianVectorProduct(of loss: () -> Tensor, at parameter: Tensor, vector: Tensor) -> Tensor {
    let gradient = gradients(of: loss(), withRespectTo: [parameter], createGraph: true)[0]
    return gradients(of: (gradient * vector).sum(), withRespectTo: [parameter])[0]
}
