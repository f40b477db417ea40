import Testing

@testable import MetaRecCore

/// Central finite differences of a scalar function of several tensors, computed in Float with
/// a step that keeps truncation and rounding error near 1e-4 relative.
func numericalGradients(_ inputs: [Tensor], step: Float = 1e-2, _ f: ([Tensor]) -> Tensor) -> [[Float]] {
    inputs.indices.map { which in
        (0..<inputs[which].count).map { element in
            func evaluate(_ delta: Float) -> Double {
                let shifted = inputs.enumerated().map { index, tensor -> Tensor in
                    guard index == which else { return tensor.detached() }
                    var values = tensor.denseValues
                    values[element] += delta
                    return Tensor(shape: tensor.shape, values: values)
                }
                return Double(GradientMode.withoutRecording { f(shifted) }.scalar)
            }
            return Float((evaluate(step) - evaluate(-step)) / Double(2 * step))
        }
    }
}

/// Whether `actual` matches `expected` within `tolerance` relative to the larger of the two
/// magnitudes and 1.
func expectClose(
    _ actual: [Float], _ expected: [Float], tolerance: Float = 2e-2, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): sizes differ", sourceLocation: sourceLocation)
    let scale = max(1, expected.map(abs).max() ?? 0, actual.map(abs).max() ?? 0)
    let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    #expect(
        worst <= tolerance * scale,
        "\(what): worst difference \(worst) (scale \(scale)); got \(actual.prefix(6)) expected \(expected.prefix(6))",
        sourceLocation: sourceLocation)
}

/// Checks the analytic gradients of `f` (a scalar function) against finite differences.
func checkGradients(
    _ inputs: [Tensor], tolerance: Float = 2e-2, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor
) {
    let parameters = inputs.map { $0.asParameter() }
    let analytic = gradients(of: f(parameters), withRespectTo: parameters)
    let numeric = numericalGradients(inputs, f)
    for index in inputs.indices {
        expectClose(
            analytic[index].denseValues, numeric[index], tolerance: tolerance, "\(what) ∂/∂input\(index)",
            sourceLocation: sourceLocation)
    }
}

/// Checks Hessian-vector products by double backward against finite differences of the
/// gradient along a random direction, for each input.
func checkHessianVectorProducts(
    _ inputs: [Tensor], seed: UInt64 = 9, tolerance: Float = 3e-2, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor
) {
    var random = SeededGenerator(seed: seed)
    for which in inputs.indices {
        let direction = Tensor.normal(inputs[which].shape, standardDeviation: 1, using: &random)
        let parameters = inputs.map { $0.asParameter() }
        let gradient = gradients(of: f(parameters), withRespectTo: [parameters[which]], createGraph: true)[0]
        #expect(
            gradient.requiresGradient || gradient.denseValues.allSatisfy { $0 == 0 },
            "\(what): gradient with createGraph must be differentiable", sourceLocation: sourceLocation)
        let analytic = gradients(of: (gradient * direction).sum(), withRespectTo: [parameters[which]])[0]

        let step: Float = 1e-2
        func gradientAt(_ sign: Float) -> [Float] {
            let shifted = inputs.enumerated().map { index, tensor -> Tensor in
                index == which ? (tensor.detached() + direction * (sign * step)).asParameter() : tensor.asParameter()
            }
            return gradients(of: f(shifted), withRespectTo: [shifted[which]])[0].denseValues
        }
        let plus = gradientAt(1)
        let minus = gradientAt(-1)
        let numeric = zip(plus, minus).map { ($0 - $1) / (2 * step) }
        expectClose(
            analytic.denseValues, numeric, tolerance: tolerance, "\(what) Hv for input\(which)",
            sourceLocation: sourceLocation)
    }
}

func randomTensor(_ shape: [Int], _ random: inout SeededGenerator, scale: Float = 1) -> Tensor {
    Tensor.normal(shape, standardDeviation: scale, using: &random)
}

/// A fixed random weighting, so that a non-scalar op becomes a scalar with a generic gradient.
func weightedSum(_ x: Tensor, seed: UInt64 = 77) -> Tensor {
    var random = SeededGenerator(seed: seed)
    return (x * Tensor.normal(x.shape, standardDeviation: 1, using: &random)).sum()
}
