import MetaRecCore

/// Meta-batches run as batched products when only the decision layers adapt (MeLU's partition):
/// the tasks' support rows are stacked (`[tasks, rows, width]`, each task padded to the longest
/// support of its group), every task's fast weights are a slice of a stacked tensor, and each
/// layer of every task is one grouped product instead of a graph of its own per task.
///
/// The first layer is never materialised per task. A step on it moves the support rows'
/// pre-activations by `−rate · (X Xᵀ + 1 1ᵀ) G` and the query rows' by `−rate · (X_q Xᵀ + 1 1ᵀ) G`,
/// where `X` is the task's support representation and `G` the loss gradient at the
/// pre-activations (the bias adds the `1 1ᵀ`), so a step costs a `rows × rows` product where the
/// adapted `width × hidden` weight would cost a `rows × width × hidden` one; the same identity
/// underlies the kernel view of a linear layer's gradient step. It is exact, so the second-order
/// meta-gradient (Finn et al., ICML 2017) is unchanged: the graph differentiates through it.
extension MetaLearner {
    /// Tasks per batched group: large enough that the graph's per-operation cost is shared, small
    /// enough that a group's longest support does not pad many shorter ones.
    static let batchedGroupSize = 16

    /// Whether ``metaGradient(_:withRespectTo:)`` can run its tasks batched: the adaptive part is
    /// exactly the decision layers (no modulation), with one inner rate or Meta-SGD's rates for
    /// each of them, there is a hidden layer, and the query loss is the pointwise one (a ranking
    /// term, ``RankingLoss``, runs task by task).
    var runsBatched: Bool {
        guard batchesTasks, options.ranking == nil, !model.configuration.modulation,
            !model.configuration.hiddenSizes.isEmpty
        else {
            return false
        }
        let adaptive = Set(options.adaptation.partition.adaptive(parameters.names))
        return adaptive == Set(decisionLayerNames) && (innerRates.isEmpty || Set(innerRates.keys) == adaptive)
    }

    /// The decision layers' parameter names, input side first.
    var decisionLayerNames: [String] {
        model.configuration.hiddenSizes.indices.flatMap {
            [ParameterName.decisionWeight($0), ParameterName.decisionBias($0)]
        } + [ParameterName.outputWeight, ParameterName.outputBias]
    }

    /// Groups of tasks for the batched path, as indices into `tasks`: sorted by support size so
    /// that padding is small, dealt to `threads` threads in turn, then cut into groups.
    static func batchedGroups(supportSizes: [Int], threads: Int) -> [[[Int]]] {
        let sorted = supportSizes.indices.sorted { (supportSizes[$0], $0) < (supportSizes[$1], $1) }
        return (0..<threads).map { thread in
            let mine = Array(stride(from: thread, to: sorted.count, by: threads).map { sorted[$0] })
            return stride(from: 0, to: mine.count, by: batchedGroupSize).map {
                Array(mine[$0..<min(mine.count, $0 + batchedGroupSize)])
            }
        }
    }

    /// The sum over `tasks` of each task's query loss after adaptation, as one differentiable
    /// scalar: its gradient is the sum of the tasks' meta-gradients.
    func batchedQueryLossSum(_ tasks: [PreparedTask]) -> Tensor {
        let secondOrder = options.order == .second
        let rate = options.adaptation.learningRate
        let steps = options.adaptation.steps
        let hidden = model.configuration.hiddenSizes
        let count = tasks.count
        let supportRows = tasks.map(\.supportCount).max() ?? 0
        let queryRows = tasks.map(\.queryCount).max() ?? 0
        let width = model.representationWidth

        // Every task's rows through the embeddings at once, `[tasks, rows, width]`; a padding
        // row embeds its user and no item, and its loss weight is zero.
        func stacked(_ rows: Int, _ items: (PreparedTask) -> EntityBatch) -> Tensor {
            model.representation(
                user: EntityBatch.repeatingFirstRows(of: tasks.map(\.userBatch), rows: rows),
                items: EntityBatch.stacked(tasks.map(items), paddedTo: rows), parameters: parameters
            ).reshaped([count, rows, width])
        }
        let firstWeight = parameters.tensor(ParameterName.decisionWeight(0))
        let firstBias = parameters.tensor(ParameterName.decisionBias(0))
        func firstLayer(_ rows: Tensor) -> Tensor {
            let perTask = rows.shape[1]
            return linear(rows.reshaped([count * perTask, width]), weight: firstWeight, bias: firstBias)
                .reshaped([count, perTask, hidden[0]])
        }

        // Per-task copies of the adapted layers: with Meta-SGD's per-element rates all of them (a
        // step on the first layer is then no longer a product of the support rows), else the
        // layers after the first.
        let learnedRates = !innerRates.isEmpty
        let adaptedNames = learnedRates ? decisionLayerNames : Array(decisionLayerNames.dropFirst(2))
        let initial = adaptedNames.map { name -> Tensor in
            let tensor = parameters.tensor(name)
            return (tensor.rank == 1 ? tensor.reshaped([1, tensor.count]) : tensor).repeatedAlongNewAxis(count)
        }
        func update(_ gradient: Tensor, _ slot: Int) -> Tensor {
            guard let rates = innerRates[adaptedNames[slot]] else { return gradient * rate }
            return (gradient.reshaped([count, rates.count]) * rates.reshaped([rates.count])).reshaped(gradient.shape)
        }
        func layersAfterFirst(_ adapted: [Tensor]) -> [Tensor] { learnedRates ? Array(adapted.dropFirst(2)) : adapted }
        let supportLayout = PaddedTargets(tasks, rows: supportRows, \.supportTargets, \.supportCount)
        let queryLayout = PaddedTargets(tasks, rows: queryRows, \.queryTargets, \.queryCount)

        var adapted = initial
        // The support rows, and the sum of the steps' gradients at their first pre-activation.
        var support: Tensor? = nil
        var preActivationGradientSum: Tensor? = nil
        if steps > 0 && supportRows > 0 {
            // First order: the inner gradients are constants, so the support rows enter only
            // through the query rows' own representation and need no graph.
            let rows =
                secondOrder
                ? stacked(supportRows, \.supportItems)
                : GradientMode.withoutRecording { stacked(supportRows, \.supportItems) }
            support = rows
            let gram = learnedRates ? nil : batchedMatmul(rows, rows, transposeB: true) + 1
            var preActivation: Tensor? = nil
            if !learnedRates {
                preActivation =
                    secondOrder ? firstLayer(rows) : GradientMode.withoutRecording { firstLayer(rows) }.asParameter()
            }
            if !secondOrder { adapted = adapted.map { $0.detached().asParameter() } }
            var constantGradientSums: [Tensor] = []
            for _ in 0..<steps {
                let first =
                    preActivation
                    ?? batchedMatmul(rows, adapted[0]) + batchedMatmul(supportLayout.ones, adapted[1])
                let loss = lossSum(head(first, layersAfterFirst(adapted), ones: supportLayout.ones), supportLayout)
                let offset = preActivation == nil ? 0 : 1
                let stepGradients = gradients(
                    of: loss, withRespectTo: (preActivation.map { [$0] } ?? []) + adapted, createGraph: secondOrder)
                var next = adapted.indices.map { adapted[$0] - update(stepGradients[$0 + offset], $0) }
                if let current = preActivation, let gram {
                    let moved = current - batchedMatmul(gram, stepGradients[0]) * rate
                    preActivation = secondOrder ? moved : moved.detached().asParameter()
                    preActivationGradientSum =
                        preActivationGradientSum.map { $0 + stepGradients[0] } ?? stepGradients[0]
                }
                if !secondOrder {
                    next = next.map { $0.detached().asParameter() }
                    let taken = Array(stepGradients[offset...])
                    constantGradientSums =
                        constantGradientSums.isEmpty ? taken : zip(constantGradientSums, taken).map { $0 + $1 }
                }
                adapted = next
            }
            if !secondOrder {
                // The adapted weights are the initial ones moved by constant gradients (times
                // Meta-SGD's rates, which still learn).
                adapted = initial.indices.map { initial[$0] - update(constantGradientSums[$0], $0) }
            }
        }
        let query = stacked(queryRows, \.queryItems)
        var queryPreActivation: Tensor
        if learnedRates {
            queryPreActivation = batchedMatmul(query, adapted[0]) + batchedMatmul(queryLayout.ones, adapted[1])
        } else {
            queryPreActivation = firstLayer(query)
            if let preActivationGradientSum, let support {
                let cross = batchedMatmul(query, support, transposeB: true) + 1
                queryPreActivation = queryPreActivation - batchedMatmul(cross, preActivationGradientSum) * rate
            }
        }
        return lossSum(head(queryPreActivation, layersAfterFirst(adapted), ones: queryLayout.ones), queryLayout)
    }

    /// The network after the first layer's pre-activation, with stacked per-task weights
    /// (weight, bias, ..., output weight, output bias): `[tasks, rows, 1]`.
    private func head(_ preActivation: Tensor, _ later: [Tensor], ones: Tensor) -> Tensor {
        var hidden = relu(preActivation)
        var index = 0
        while index + 2 < later.count {
            hidden = relu(batchedMatmul(hidden, later[index]) + batchedMatmul(ones, later[index + 1]))
            index += 2
        }
        return batchedMatmul(hidden, later[index]) + batchedMatmul(ones, later[index + 1])
    }

    /// Σ over tasks of each task's mean loss over its own (unpadded) rows.
    private func lossSum(_ outputs: Tensor, _ layout: PaddedTargets) -> Tensor {
        switch model.configuration.objective {
        case .rating:
            let difference = outputs - layout.targets
            return (difference * difference * layout.weights).sum()
        case .click:
            return ((softplus(outputs) - layout.targets * outputs) * layout.weights).sum()
        }
    }
}

/// Targets stacked `[tasks, rows, 1]` with zeros below each task's own rows, the weight of each
/// row in its task's mean (1 / rows, 0 on padding), and ones for the per-task bias products.
private struct PaddedTargets {
    let targets: Tensor
    let weights: Tensor
    let ones: Tensor

    init(
        _ tasks: [PreparedTask], rows: Int, _ values: KeyPath<PreparedTask, Tensor>,
        _ counts: KeyPath<PreparedTask, Int>
    ) {
        var targetValues = [Float](repeating: 0, count: tasks.count * rows)
        var weightValues = [Float](repeating: 0, count: tasks.count * rows)
        for (index, task) in tasks.enumerated() {
            let own = task[keyPath: counts]
            let source = task[keyPath: values].values
            for row in 0..<own {
                targetValues[index * rows + row] = source[row]
                weightValues[index * rows + row] = 1 / Float(own)
            }
        }
        targets = Tensor(shape: [tasks.count, rows, 1], values: targetValues)
        weights = Tensor(shape: [tasks.count, rows, 1], values: weightValues)
        ones = Tensor.filled([tasks.count, rows, 1], with: 1)
    }
}
