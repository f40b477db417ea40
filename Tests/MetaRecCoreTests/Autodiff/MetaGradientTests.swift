import Testing

@testable import MetaRecCore

/// MAML's meta-gradient (Finn et al., 2017) through unrolled inner SGD steps of a two-layer
/// network, against central finite differences of the post-adaptation query loss.
@Suite struct MetaGradientTests {
    struct Task {
        let supportInputs, supportTargets, queryInputs, queryTargets: Tensor
    }

    static func network(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        linear(tanh(linear(x, weight: p[0], bias: p[1])), weight: p[2], bias: p[3])
    }

    static func adapted(_ parameters: [Tensor], _ task: Task, steps: Int, rate: Float, createGraph: Bool) -> [Tensor] {
        var fast = parameters
        for _ in 0..<steps {
            let loss = meanSquaredError(network(task.supportInputs, fast), task.supportTargets)
            let g = gradients(of: loss, withRespectTo: fast, createGraph: createGraph)
            fast = zip(fast, g).map { $0 - $1 * rate }
        }
        return fast
    }

    static func queryLoss(_ parameters: [Tensor], _ task: Task, steps: Int, rate: Float) -> Tensor {
        meanSquaredError(
            network(task.queryInputs, adapted(parameters, task, steps: steps, rate: rate, createGraph: true)),
            task.queryTargets)
    }

    static func makeTask(_ random: inout SeededGenerator) -> (Task, [Tensor]) {
        let task = Task(
            supportInputs: randomTensor([8, 3], &random), supportTargets: randomTensor([8, 1], &random),
            queryInputs: randomTensor([6, 3], &random), queryTargets: randomTensor([6, 1], &random))
        let parameters = [
            randomTensor([3, 5], &random, scale: 0.8), randomTensor([5], &random, scale: 0.3),
            randomTensor([5, 1], &random, scale: 0.8), randomTensor([1], &random, scale: 0.3),
        ]
        return (task, parameters)
    }

    @Test(arguments: [1, 3])
    func secondOrderMetaGradientMatchesFiniteDifferences(steps: Int) {
        var random = SeededGenerator(seed: 11)
        let (task, initial) = Self.makeTask(&random)
        let rate: Float = 0.3
        let parameters = initial.map { $0.asParameter() }
        let exact = gradients(of: Self.queryLoss(parameters, task, steps: steps, rate: rate), withRespectTo: parameters)

        // Finite differences in Double precision of the step would need a Double network; in
        // Float a step of 1e-2 keeps the error near 1e-4 of the gradient's scale.
        let numeric = numericalGradients(initial) { p in
            // Inner gradients are still needed without recording the outer graph.
            GradientMode.with(recording: true) {
                let leaves = p.map { $0.asParameter() }
                return Self.queryLoss(leaves, task, steps: steps, rate: rate).detached()
            }
        }
        for index in initial.indices {
            expectClose(
                exact[index].denseValues, numeric[index], tolerance: 1e-2, "meta-gradient \(index), \(steps) steps")
        }

        // First-order MAML drops the second-derivative terms: the gradient of the query loss at
        // the adapted parameters. It must be measurably different, which shows second order is real.
        let fast = Self.adapted(parameters, task, steps: steps, rate: rate, createGraph: false).map { $0.asParameter() }
        let firstOrder = gradients(
            of: meanSquaredError(Self.network(task.queryInputs, fast), task.queryTargets), withRespectTo: fast)
        let exactAll = exact.flatMap(\.denseValues)
        let firstAll = firstOrder.flatMap(\.denseValues)
        let numericAll = numeric.flatMap { $0 }
        let firstOrderError = zip(firstAll, numericAll).map { abs($0 - $1) }.max() ?? 0
        let exactError = zip(exactAll, numericAll).map { abs($0 - $1) }.max() ?? 0
        #expect(
            firstOrderError > 0.05, "first-order gradient should differ from the exact one (error \(firstOrderError))")
        #expect(firstOrderError > 10 * exactError, "exact error \(exactError), first-order error \(firstOrderError)")
    }

    @Test func gradientsThatAreNotAskedForAreNotComputed() {
        var random = SeededGenerator(seed: 2)
        let a = randomTensor([3, 3], &random).asParameter()
        let b = randomTensor([3, 3], &random).asParameter()
        let loss = (matmul(a, a) + tanh(b)).sum()
        // Only a's branch leads to a; b's node must not run. A node that ran would record into
        // the result under createGraph; check via the gradient graph instead: asking for `a`
        // only returns a gradient whose graph never touches b.
        let g = gradients(of: loss, withRespectTo: [a], createGraph: true)[0]
        var seen = Set<ObjectIdentifier>()
        var stack = [g]
        while let t = stack.popLast() {
            guard seen.insert(ObjectIdentifier(t)).inserted else { continue }
            #expect(t !== b, "the gradient for a depends on b")
            stack.append(contentsOf: t.node?.inputs ?? [])
        }
        let unrelated = Tensor(shape: [2], values: [1, 2], requiresGradient: true)
        #expect(gradients(of: loss, withRespectTo: [unrelated])[0].denseValues == [0, 0])
    }

    @Test func sparseEmbeddingGradientHoldsOnlyTouchedRows() {
        var random = SeededGenerator(seed: 4)
        let table = randomTensor([1000, 8], &random).asParameter()
        let lists = IndexLists([[3, 7], [7], [999]])
        let g = gradients(of: weightedSum(tanh(embeddingBag(table, lists))), withRespectTo: [table])[0]
        #expect(g.rowIndices == [3, 7, 999])
        #expect(g.values.count == 3 * 8)
        // Under createGraph a gradient that depends on the table must stay differentiable: dense.
        let dense = gradients(
            of: weightedSum(tanh(embeddingBag(table, lists))), withRespectTo: [table], createGraph: true)[0]
        #expect(dense.rowIndices == nil && dense.requiresGradient)
        expectClose(g.denseValues, dense.denseValues, tolerance: 1e-6, "sparse and dense layouts agree")
    }

    @Test func shapeErrorsNameTheOperationAndBothShapes() {
        guard case .failure(let error) = ShapeCheck.matmul([3, 4], [5, 2], transposeA: false, transposeB: false) else {
            Issue.record("mismatched matmul accepted")
            return
        }
        #expect(error.description.contains("matmul"))
        #expect(error.description.contains("[3, 4]") && error.description.contains("[5, 2]"))
        guard case .failure(let add) = ShapeCheck.broadcast("add", [3, 4], [3]) else {
            Issue.record("mismatched add accepted")
            return
        }
        #expect(add.description.hasPrefix("add: incompatible shapes [3, 4] and [3]"))
        #expect((try? ShapeCheck.broadcast("add", [3, 4], [4]).get()) == [3, 4])
        #expect((try? ShapeCheck.broadcast("add", [], [2, 4]).get()) == [2, 4])
    }
}
