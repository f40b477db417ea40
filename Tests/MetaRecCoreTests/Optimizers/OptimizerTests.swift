import Testing

@testable import MetaRecCore

/// Optimizer steps against values worked out by hand.
@Suite struct OptimizerTests {
    func step(_ optimizer: Optimizer, _ parameter: Tensor, _ gradient: [Float]) {
        optimizer.step(Gradients([parameter], [Tensor(shape: parameter.shape, values: gradient)]))
    }

    @Test func plainSGD() {
        let p = Tensor([1, 2], requiresGradient: true)
        step(SGD(groups: [ParameterGroup([p], learningRate: 0.1)]), p, [0.5, -1])
        expectClose(p.values, [0.95, 2.1], tolerance: 1e-6, "p − ηg")
    }

    @Test func sgdWithWeightDecayAndMomentum() {
        let p = Tensor([1, 2], requiresGradient: true)
        step(SGD(groups: [ParameterGroup([p], learningRate: 0.1, weightDecay: 0.1)]), p, [0.5, -1])
        // g + λp = [0.6, -0.8]
        expectClose(p.values, [0.94, 2.08], tolerance: 1e-6, "L2 decay")

        let q = Tensor([1], requiresGradient: true)
        let momentum = SGD(groups: [ParameterGroup([q], learningRate: 0.1)], momentum: 0.9)
        step(momentum, q, [0.5])  // v = 0.5, q = 0.95
        step(momentum, q, [0.5])  // v = 0.95, q = 0.855
        expectClose(q.values, [0.855], tolerance: 1e-6, "momentum")
    }

    @Test func adamTwoSteps() {
        let p = Tensor([1, 2], requiresGradient: true)
        let adam = Adam(groups: [ParameterGroup([p], learningRate: 0.1)])
        step(adam, p, [0.5, -1])
        // First step: m̂ = g, v̂ = g², so each element moves by η·sign(g).
        expectClose(p.values, [0.9, 2.1], tolerance: 1e-6, "Adam step 1")
        step(adam, p, [0.25, 1])
        // m = 0.9·0.05 + 0.1·0.25 = 0.07, v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225,
        // m̂ = 0.07/0.19, v̂ = 0.00031225/0.001999: 0.9 − 0.1·0.368421/0.395225 = 0.806782.
        expectClose(p.values, [0.806782, 2.094737], tolerance: 1e-5, "Adam step 2")
    }

    @Test func adamWDecouplesWeightDecay() {
        let coupled = Tensor([1], requiresGradient: true)
        let decoupled = Tensor([1], requiresGradient: true)
        step(Adam(groups: [ParameterGroup([coupled], learningRate: 0.1, weightDecay: 0.01)]), coupled, [0.5])
        step(AdamW(groups: [ParameterGroup([decoupled], learningRate: 0.1, weightDecay: 0.01)]), decoupled, [0.5])
        // Adam: g' = 0.51, first step moves by η·sign = 0.1. AdamW: p·(1 − ηλ) = 0.999, then −0.1.
        expectClose(coupled.values, [0.9], tolerance: 1e-6, "Adam with L2")
        expectClose(decoupled.values, [0.899], tolerance: 1e-6, "AdamW")
    }

    @Test func frozenGroupsAndPerGroupRates() {
        let shared = Tensor([1], requiresGradient: true)
        let adaptive = Tensor([1], requiresGradient: true)
        let sgd = SGD(groups: [
            ParameterGroup([shared], learningRate: 0.1, isFrozen: true),
            ParameterGroup([adaptive], learningRate: 0.5),
        ])
        sgd.step(Gradients([shared, adaptive], [Tensor([1]), Tensor([1])]))
        #expect(shared.values == [1])
        expectClose(adaptive.values, [0.5], tolerance: 1e-6, "adaptive group")
        #expect(sgd.trainableParameters.count == 1 && sgd.parameters.count == 2)
    }

    @Test func sparseGradientsUpdateOnlyTheirRows() {
        let table = Tensor(shape: [4, 2], values: [1, 1, 1, 1, 1, 1, 1, 1], requiresGradient: true)
        let lists = IndexLists([[1], [3]])
        let g = gradients(of: embeddingBag(table, lists).sum(), withRespectTo: [table])[0]
        #expect(g.isSparse)
        let adam = Adam(groups: [ParameterGroup([table], learningRate: 0.1)])
        adam.step(Gradients([table], [g]))
        expectClose(table.values, [1, 1, 0.9, 0.9, 1, 1, 0.9, 0.9], tolerance: 1e-6, "rows 1 and 3 only")
    }

    @Test func gradientNormClipping() {
        let a = Tensor([0], requiresGradient: true)
        let b = Tensor([0], requiresGradient: true)
        var grads = Gradients([a, b], [Tensor([3]), Tensor([4])])
        #expect(abs(grads.clipNorm(to: 1) - 5) < 1e-6)
        expectClose(grads[a]!.values + grads[b]!.values, [0.6, 0.8], tolerance: 1e-6, "clipped")
        #expect(abs(grads.clipNorm(to: 10) - 1) < 1e-6)
        expectClose(grads[a]!.values, [0.6], tolerance: 1e-6, "unchanged below the limit")
    }
}
