/// Builds an operation's result and, when anything records, its backward rule.
@inline(__always)
func record(
    _ name: String, _ inputs: [Tensor], shape: [Int], values: [Float],
    backward: @escaping (_ outputGradient: Tensor, _ needed: [Bool]) -> [Tensor?]
) -> Tensor {
    guard GradientMode.isRecording, inputs.contains(where: { $0.requiresGradient }) else {
        return Tensor(shape: shape, values: values)
    }
    return Tensor(shape: shape, values: values, node: GradientNode(name, inputs, backward: backward))
}

/// Like ``record(_:_:shape:values:backward:)`` for rules that reuse the output itself (as
/// sigmoid's derivative does). The output is captured unowned: a backward rule only runs while
/// the graph above it, and so the output, is alive.
@inline(__always)
func recordUsingOutput(
    _ name: String, _ inputs: [Tensor], shape: [Int], values: [Float],
    backward: @escaping (_ output: Tensor, _ outputGradient: Tensor, _ needed: [Bool]) -> [Tensor?]
) -> Tensor {
    guard GradientMode.isRecording, inputs.contains(where: { $0.requiresGradient }) else {
        return Tensor(shape: shape, values: values)
    }
    let result = Tensor(shape: shape, values: values, recorded: true)
    result.node = GradientNode(name, inputs) { [unowned result] gradient, needed in
        backward(result, gradient, needed)
    }
    return result
}
