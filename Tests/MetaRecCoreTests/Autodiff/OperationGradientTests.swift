import Testing

@testable import MetaRecCore

/// Every differentiable operation, checked against finite differences (first order) and, by
/// double backward, against finite differences of its gradient (second order).
@Suite struct OperationGradientTests {
    var random = SeededGenerator(seed: 1)

    @Test mutating func matmulAllTransposeVariants() {
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(transposeA ? [4, 3] : [3, 4], &random)
            let b = randomTensor(transposeB ? [5, 4] : [4, 5], &random)
            let f: ([Tensor]) -> Tensor = { x in
                weightedSum(tanh(matmul(x[0], x[1], transposeA: transposeA, transposeB: transposeB)))
            }
            checkGradients([a, b], "matmul(\(transposeA), \(transposeB))", f)
            checkHessianVectorProducts([a, b], "matmul(\(transposeA), \(transposeB))", f)
        }
    }

    @Test mutating func linearWithBias() {
        let x = randomTensor([5, 4], &random)
        let w = randomTensor([4, 3], &random)
        let b = randomTensor([3], &random)
        let f: ([Tensor]) -> Tensor = { t in weightedSum(sigmoid(linear(t[0], weight: t[1], bias: t[2]))) }
        checkGradients([x, w, b], "linear", f)
        checkHessianVectorProducts([x, w, b], "linear", f)
    }

    @Test mutating func arithmeticWithBroadcasting() {
        let cases: [(String, [Int], [Int], (Tensor, Tensor) -> Tensor)] = [
            ("add", [3, 4], [3, 4], { $0 + $1 }), ("add row", [3, 4], [4], { $0 + $1 }),
            ("add row left", [1, 4], [3, 4], { $0 + $1 }), ("add scalar", [3, 4], [], { $0 + $1 }),
            ("subtract", [3, 4], [3, 4], { $0 - $1 }), ("subtract row", [3, 4], [1, 4], { $0 - $1 }),
            ("multiply", [3, 4], [3, 4], { $0 * $1 }), ("multiply row", [3, 4], [4], { $0 * $1 }),
            ("multiply scalar tensor", [2, 3, 4], [1], { $0 * $1 }),
            ("divide", [3, 4], [3, 4], { $0 / ($1 * $1 + 1) }), ("divide row", [3, 4], [4], { $0 / ($1 * $1 + 1) }),
        ]
        for (name, shapeA, shapeB, op) in cases {
            let a = randomTensor(shapeA, &random)
            let b = randomTensor(shapeB, &random)
            let f: ([Tensor]) -> Tensor = { t in weightedSum(tanh(op(t[0], t[1]))) }
            checkGradients([a, b], name, f)
            checkHessianVectorProducts([a, b], name, f)
        }
    }

    @Test mutating func scalarOperations() {
        let x = randomTensor([3, 4], &random)
        let cases: [(String, (Tensor) -> Tensor)] = [
            ("x + s", { $0 + 1.5 }), ("s - x", { 2 - $0 }), ("x * s", { $0 * -0.7 }),
            ("x / s", { $0 / 3 }), ("-x", { -$0 }), ("x - s", { $0 - 0.5 }),
        ]
        for (name, op) in cases {
            let f: ([Tensor]) -> Tensor = { t in weightedSum(op(t[0]) * op(t[0])) }
            checkGradients([x], name, f)
            checkHessianVectorProducts([x], name, f)
        }
    }

    @Test mutating func activations() {
        // Keep relu's inputs away from its kink, where finite differences are meaningless.
        let x = Tensor(
            shape: [3, 4], values: randomTensor([3, 4], &random).denseValues.map { $0 + ($0 >= 0 ? 0.2 : -0.2) })
        let positive = Tensor(shape: [3, 4], values: randomTensor([3, 4], &random).denseValues.map { abs($0) + 0.5 })
        let cases: [(String, Tensor, (Tensor) -> Tensor)] = [
            ("relu", x, { relu($0) * $0 }), ("sigmoid", x, sigmoid), ("tanh", x, tanh), ("exp", x, exp),
            ("log", positive, log), ("softplus", x, softplus),
        ]
        for (name, input, op) in cases {
            let f: ([Tensor]) -> Tensor = { t in weightedSum(op(t[0])) }
            checkGradients([input], name, f)
            checkHessianVectorProducts([input], name, f)
        }
    }

    @Test mutating func reductionsAndShapes() {
        let x = randomTensor([3, 4], &random)
        let cases: [(String, (Tensor) -> Tensor)] = [
            ("sum", { ($0 * $0).sum() * $0.sum() }), ("mean", { ($0 * $0).mean() }),
            ("sumLeadingAxes", { weightedSum(tanh($0.sumLeadingAxes())) }),
            ("sumRows", { weightedSum(tanh($0.sumRows())) }),
            ("reshape", { weightedSum(tanh($0.reshaped([2, 6]))) }),
            ("transpose", { weightedSum(tanh($0.transposed())) }),
            ("expand", { weightedSum(tanh($0.sumLeadingAxes().expanded(to: [5, 4]))) }),
            ("columns", { weightedSum(tanh($0.columns(1..<3))) }),
        ]
        for (name, op) in cases {
            let f: ([Tensor]) -> Tensor = { t in op(t[0]) }
            checkGradients([x], name, f)
            checkHessianVectorProducts([x], name, f)
        }
    }

    @Test mutating func concatenation() {
        let a = randomTensor([3, 2], &random)
        let b = randomTensor([3, 4], &random)
        let c = randomTensor([3, 1], &random)
        let f: ([Tensor]) -> Tensor = { t in weightedSum(tanh(concatenateColumns(t))) }
        checkGradients([a, b, c], "concatenateColumns", f)
        checkHessianVectorProducts([a, b, c], "concatenateColumns", f)
    }

    @Test mutating func embeddingBagMeanPooling() {
        let table = randomTensor([6, 3], &random)
        let lists = IndexLists([[0, 2], [5], [], [2, 2, 4], [1]])
        let f: ([Tensor]) -> Tensor = { t in weightedSum(tanh(embeddingBag(t[0], lists))) }
        checkGradients([table], "embeddingBag", f)
        checkHessianVectorProducts([table], "embeddingBag", f)
    }

    @Test mutating func losses() {
        let prediction = randomTensor([6, 1], &random)
        let target = randomTensor([6, 1], &random)
        let mse: ([Tensor]) -> Tensor = { t in meanSquaredError(tanh(t[0]), t[1]) }
        checkGradients([prediction, target], "meanSquaredError", mse)
        checkHessianVectorProducts([prediction, target], "meanSquaredError", mse)

        let labels = Tensor(shape: [6, 1], values: [1, 0, 0, 1, 1, 0])
        let bce: ([Tensor]) -> Tensor = { t in binaryCrossEntropy(logits: t[0] * t[0], labels: labels) }
        checkGradients([prediction], "binaryCrossEntropy", bce)
        checkHessianVectorProducts([prediction], "binaryCrossEntropy", bce)
        let bceLabels: ([Tensor]) -> Tensor = { t in binaryCrossEntropy(logits: prediction.detached(), labels: t[0]) }
        checkGradients([target], "binaryCrossEntropy labels", bceLabels)
    }
}
