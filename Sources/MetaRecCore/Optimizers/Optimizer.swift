/// Parameters that share optimisation settings. A model freezes one part and adapts another by
/// putting them in separate groups (a frozen group is skipped by ``Optimizer/step(_:)``).
public struct ParameterGroup {
    public var parameters: [Tensor]
    public var learningRate: Float
    public var weightDecay: Float
    public var isFrozen: Bool

    public init(_ parameters: [Tensor], learningRate: Float, weightDecay: Float = 0, isFrozen: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.isFrozen = isFrozen
    }
}

/// Gradients keyed by the parameter they belong to.
public struct Gradients {
    private var storage: [ObjectIdentifier: Tensor] = [:]

    public init() {}

    /// Pairs `parameters` with `gradients` in order, as ``gradients(of:withRespectTo:createGraph:outputGradient:)`` returns them.
    public init(_ parameters: [Tensor], _ gradients: [Tensor]) {
        precondition(
            parameters.count == gradients.count,
            "Gradients: \(parameters.count) parameters, \(gradients.count) gradients")
        for (parameter, gradient) in zip(parameters, gradients) { storage[ObjectIdentifier(parameter)] = gradient }
    }

    public subscript(_ parameter: Tensor) -> Tensor? {
        get { storage[ObjectIdentifier(parameter)] }
        set { storage[ObjectIdentifier(parameter)] = newValue }
    }

    /// The Euclidean norm of all gradients together.
    public var globalNorm: Float {
        var total: Double = 0
        for gradient in storage.values {
            for v in gradient.values { total += Double(v) * Double(v) }
        }
        return Float(total.squareRoot())
    }

    /// Scales all gradients down so that their global norm is at most `maxNorm`; returns the
    /// norm before clipping (Pascanu et al., "On the difficulty of training recurrent neural
    /// networks", 2013).
    @discardableResult
    public mutating func clipNorm(to maxNorm: Float) -> Float {
        let norm = globalNorm
        guard norm > maxNorm, norm > 0 else { return norm }
        let scale = maxNorm / norm
        for (key, gradient) in storage {
            let scaled = gradient.values.map { $0 * scale }
            storage[key] =
                gradient.rowIndices.map {
                    Tensor(rows: gradient.shape[0], width: gradient.shape[1], rowIndices: $0, values: scaled)
                } ?? Tensor(shape: gradient.shape, values: scaled)
        }
        return norm
    }
}

/// Updates parameters in place from their gradients.
///
/// ```swift
/// let optimizer = Adam(groups: [ParameterGroup(model.parameters, learningRate: 1e-3)])
/// let loss = model.loss(batch)
/// optimizer.step(Gradients(model.parameters, gradients(of: loss, withRespectTo: model.parameters)))
/// ```
public protocol Optimizer: AnyObject {
    var groups: [ParameterGroup] { get set }
    /// Applies one update to every parameter of every unfrozen group that has a gradient.
    func step(_ gradients: Gradients)
}

extension Optimizer {
    /// Every parameter of every group, frozen or not.
    public var parameters: [Tensor] { groups.flatMap(\.parameters) }

    /// Every parameter that ``step(_:)`` updates.
    public var trainableParameters: [Tensor] { groups.filter { !$0.isFrozen }.flatMap(\.parameters) }
}

/// Runs `update(offset, gradientValue)` for every stored element of a gradient, dense or
/// row-sparse, where `offset` indexes the parameter's dense values.
@inline(__always)
func forEachGradientElement(_ gradient: Tensor, _ update: (Int, Float) -> Void) {
    if let rows = gradient.rowIndices {
        let width = gradient.shape[1]
        for (slot, row) in rows.enumerated() {
            for j in 0..<width { update(Int(row) * width + j, gradient.values[slot * width + j]) }
        }
    } else {
        for (offset, value) in gradient.values.enumerated() { update(offset, value) }
    }
}

func checkGradientShape(_ parameter: Tensor, _ gradient: Tensor, _ optimizer: String) {
    precondition(
        parameter.shape == gradient.shape,
        ShapeError(
            operation: optimizer, shapes: [parameter.shape, gradient.shape],
            expectation: "a gradient must have its parameter's shape"
        ).description)
}
