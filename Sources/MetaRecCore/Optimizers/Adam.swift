import RealModule

/// Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015), with weight
/// decay either coupled as an L2 term in the gradient (Adam) or decoupled (AdamW, Loshchilov and
/// Hutter, "Decoupled Weight Decay Regularization", ICLR 2019).
///
/// For a row-sparse gradient only the rows it holds are updated, and their moments are kept per
/// element (lazy Adam), so an embedding table costs in proportion to the rows a batch touches.
public class Adam: Optimizer {
    public var groups: [ParameterGroup]
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    let decoupledWeightDecay: Bool

    private struct State {
        var firstMoment: [Float]
        var secondMoment: [Float]
        var steps: Int
    }
    private var states: [ObjectIdentifier: State] = [:]

    public init(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.groups = groups
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = false
    }

    init(groups: [ParameterGroup], beta1: Float, beta2: Float, epsilon: Float, decoupled: Bool) {
        self.groups = groups
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = decoupled
    }

    public func step(_ gradients: Gradients) {
        for group in groups where !group.isFrozen {
            for parameter in group.parameters {
                guard let gradient = gradients[parameter] else { continue }
                checkGradientShape(parameter, gradient, decoupledWeightDecay ? "AdamW" : "Adam")
                let id = ObjectIdentifier(parameter)
                var state =
                    states[id]
                    ?? State(
                        firstMoment: [Float](repeating: 0, count: parameter.count),
                        secondMoment: [Float](repeating: 0, count: parameter.count), steps: 0)
                states[id] = nil  // keep the arrays uniquely referenced while we write them
                state.steps += 1
                let (b1, b2, eps, rate, decay) = (beta1, beta2, epsilon, group.learningRate, group.weightDecay)
                let correction1 = 1 - Float.pow(b1, state.steps)
                let correction2 = 1 - Float.pow(b2, state.steps)
                let decoupled = decoupledWeightDecay
                parameter.values.withUnsafeMutableBufferPointer { p in
                    state.firstMoment.withUnsafeMutableBufferPointer { m in
                        state.secondMoment.withUnsafeMutableBufferPointer { v in
                            forEachGradientElement(gradient) { i, raw in
                                let g = decoupled ? raw : raw + decay * p[i]
                                if decoupled { p[i] -= rate * decay * p[i] }
                                m[i] = b1 * m[i] + (1 - b1) * g
                                v[i] = b2 * v[i] + (1 - b2) * g * g
                                let mHat = m[i] / correction1
                                let vHat = v[i] / correction2
                                p[i] -= rate * mHat / (vHat.squareRoot() + eps)
                            }
                        }
                    }
                }
                states[id] = state
            }
        }
    }
}

/// Adam with decoupled weight decay (Loshchilov and Hutter, ICLR 2019): p ← p − η·λ·p, then
/// the Adam step on the raw gradient.
public final class AdamW: Adam {
    public override init(groups: [ParameterGroup], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        super.init(groups: groups, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupled: true)
    }
}
