/// Stochastic gradient descent with optional momentum and L2 weight decay:
/// v ← μ·v + (g + λ·p); p ← p − η·v. With μ = 0 this is plain SGD.
public final class SGD: Optimizer {
    public var groups: [ParameterGroup]
    public var momentum: Float
    private var velocity: [ObjectIdentifier: [Float]] = [:]

    public init(groups: [ParameterGroup], momentum: Float = 0) {
        self.groups = groups
        self.momentum = momentum
    }

    public func step(_ gradients: Gradients) {
        for group in groups where !group.isFrozen {
            for parameter in group.parameters {
                guard let gradient = gradients[parameter] else { continue }
                checkGradientShape(parameter, gradient, "SGD")
                let (rate, decay, mu) = (group.learningRate, group.weightDecay, momentum)
                if mu == 0 {
                    parameter.values.withUnsafeMutableBufferPointer { p in
                        forEachGradientElement(gradient) { i, g in p[i] -= rate * (g + decay * p[i]) }
                    }
                    continue
                }
                var v = velocity[ObjectIdentifier(parameter)] ?? [Float](repeating: 0, count: parameter.count)
                parameter.values.withUnsafeMutableBufferPointer { p in
                    forEachGradientElement(gradient) { i, g in
                        v[i] = mu * v[i] + g + decay * p[i]
                        p[i] -= rate * v[i]
                    }
                }
                velocity[ObjectIdentifier(parameter)] = v
            }
        }
    }
}
