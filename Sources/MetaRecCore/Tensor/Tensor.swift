import Foundation

/// A row-major Float32 tensor that remembers how it was computed, so that gradients, and
/// gradients of gradients, can be taken through it.
///
/// A tensor is a node of a computation graph: an operation on tensors that require a gradient
/// records its inputs and a backward rule, and ``gradients(of:withRespectTo:createGraph:)``
/// walks the graph back from a loss. Backward rules are themselves written with tensor
/// operations, so with `createGraph: true` the gradients are new differentiable tensors, as
/// PyTorch's `create_graph=True` gives: that is what exact second-order MAML needs (Finn et al.,
/// "Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks", ICML 2017).
///
/// ```swift
/// let w = Tensor([[0.5], [-1]], requiresGradient: true)     // 2×1 parameter
/// let x = Tensor([[1, 2], [3, 4]])                           // 2×2 batch
/// let loss = meanSquaredError(matmul(x, w), Tensor([[1], [0]]))
/// let g = gradients(of: loss, withRespectTo: [w], createGraph: true)[0]
/// let hessianVector = gradients(of: (g * Tensor([[1], [0]])).sum(), withRespectTo: [w])[0]
/// ```
///
/// Values are stored densely, except that a gradient of an embedding table may be held as a
/// set of rows (``rowIndices``): a batch touches few rows of a large table, and optimizers update
/// only those. Every operation reads ``denseValues``, so the layout never changes a result.
public final class Tensor: @unchecked Sendable {
    /// Dimensions, outermost first; `[]` for a scalar.
    public let shape: [Int]
    /// Row-major values. For a row-sparse tensor, only the rows listed in ``rowIndices``.
    /// Parameters are updated in place by optimizers; a tensor inside a live graph must not be.
    public var values: [Float]
    /// For a row-sparse tensor, the sorted distinct rows that `values` holds; otherwise nil.
    public let rowIndices: [Int32]?
    /// Whether gradients flow to (or through) this tensor.
    public let requiresGradient: Bool
    /// How this tensor was computed, when it was computed from tensors that require gradients.
    var node: GradientNode?

    /// A tensor with the given shape and row-major values.
    public init(shape: [Int], values: [Float], requiresGradient: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(
            values.count == shape.reduce(1, *),
            "Tensor: \(values.count) values do not fill shape \(shape) (\(shape.reduce(1, *)) needed)")
        self.shape = shape
        self.values = values
        self.rowIndices = nil
        self.requiresGradient = requiresGradient
    }

    /// A row-sparse tensor of logical shape `[rows, width]` holding only `rowIndices`.
    init(rows: Int, width: Int, rowIndices: [Int32], values: [Float]) {
        precondition(values.count == rowIndices.count * width)
        self.shape = [rows, width]
        self.values = values
        self.rowIndices = rowIndices
        self.requiresGradient = false
    }

    /// A result that records (its node is set right after) or not.
    init(shape: [Int], values: [Float], recorded: Bool) {
        self.shape = shape
        self.values = values
        self.rowIndices = nil
        self.requiresGradient = recorded
    }

    init(shape: [Int], values: [Float], node: GradientNode?) {
        self.shape = shape
        self.values = values
        self.rowIndices = nil
        self.requiresGradient = node != nil
        self.node = node
    }

    /// A scalar.
    public convenience init(_ value: Float, requiresGradient: Bool = false) {
        self.init(shape: [], values: [value], requiresGradient: requiresGradient)
    }

    /// A vector.
    public convenience init(_ values: [Float], requiresGradient: Bool = false) {
        self.init(shape: [values.count], values: values, requiresGradient: requiresGradient)
    }

    /// A matrix from its rows, which must all have the same length.
    public convenience init(_ rows: [[Float]], requiresGradient: Bool = false) {
        let width = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == width }, "Tensor: rows of unequal length")
        self.init(shape: [rows.count, width], values: rows.flatMap { $0 }, requiresGradient: requiresGradient)
    }

    /// Zeros of a shape.
    public static func zeros(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    /// A constant-filled tensor.
    public static func filled(_ shape: [Int], with value: Float) -> Tensor {
        Tensor(shape: shape, values: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// Normal draws, for example to initialise weights.
    public static func normal(
        _ shape: [Int], standardDeviation: Float, using random: inout SeededGenerator, requiresGradient: Bool = false
    ) -> Tensor {
        let values = (0..<shape.reduce(1, *)).map { _ in random.normal(mean: 0, standardDeviation: standardDeviation) }
        return Tensor(shape: shape, values: values, requiresGradient: requiresGradient)
    }

    /// Uniform draws in `[low, high)`; with `low = -high = -sqrt(6 / (fanIn + fanOut))` this is
    /// Glorot's initialisation.
    public static func uniform(
        _ shape: [Int], low: Float, high: Float, using random: inout SeededGenerator, requiresGradient: Bool = false
    ) -> Tensor {
        let values = (0..<shape.reduce(1, *)).map { _ in random.uniform(low, high) }
        return Tensor(shape: shape, values: values, requiresGradient: requiresGradient)
    }

    /// Number of elements of the logical shape.
    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
    public var isSparse: Bool { rowIndices != nil }

    /// The single value of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "scalar: tensor of shape \(shape) has \(count) elements, not 1")
        return denseValues[0]
    }

    /// All values in dense row-major order, whatever the layout.
    public var denseValues: [Float] {
        guard let rows = rowIndices else { return values }
        let width = shape[1]
        var dense = [Float](repeating: 0, count: count)
        for (slot, row) in rows.enumerated() {
            let target = Int(row) * width
            for j in 0..<width { dense[target + j] = values[slot * width + j] }
        }
        return dense
    }

    /// The same values, cut off from the graph: gradients do not flow through the result.
    public func detached() -> Tensor {
        if let rows = rowIndices { return Tensor(rows: shape[0], width: shape[1], rowIndices: rows, values: values) }
        return Tensor(shape: shape, values: values)
    }

    /// A new leaf holding the same values that does require a gradient (a fresh parameter).
    public func asParameter() -> Tensor { Tensor(shape: shape, values: denseValues, requiresGradient: true) }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = denseValues.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), values: [\(shown)\(count > 8 ? ", …" : "")])"
    }
}

/// A recorded operation: its inputs and how to map the gradient of its output to theirs.
final class GradientNode {
    let name: String
    let inputs: [Tensor]
    /// Given the output's gradient and which inputs need one, returns their gradients (nil
    /// where not needed, or where the gradient is identically zero). Runs under
    /// ``GradientMode`` recording exactly when the caller asked for `createGraph`.
    let backward: (_ outputGradient: Tensor, _ needed: [Bool]) -> [Tensor?]

    init(_ name: String, _ inputs: [Tensor], backward: @escaping (Tensor, [Bool]) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}
