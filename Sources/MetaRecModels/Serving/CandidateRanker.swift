import MetaRecCore
import MetaRecData

/// Ranks many candidate items for one user in milliseconds: the candidates' representations
/// are computed once and cached, and the first decision layer is split into its user block and
/// its item block (x·W = u·W_user + i·W_item), so a request multiplies only the cached item
/// block by the adapted weights: one matrix product per layer, no autodiff graph.
///
/// ```swift
/// let ranker = CandidateRanker(model: model, parameters: learner.parameters, items: features.items, candidates: all)
/// let top = ranker.rank(userRepresentation: u, parameters: fast, count: 10, excluding: rated)
/// ```
public final class CandidateRanker: @unchecked Sendable {
    public let model: MeLUModel
    public let candidates: [Int32]
    /// Row-major `[candidates.count, itemWidth]`.
    let itemBlock: [Float]
    let itemWidth: Int
    /// The item block times the first layer's item rows, with the weight it was computed under.
    /// When the adaptive partition leaves the first layer shared (modulation, last layer), this
    /// product is the same for every user, so a request skips the largest multiplication.
    let firstLayer: (weight: [Float], product: [Float])?

    /// Caches the candidates' representations under `parameters`. Valid while the adaptive
    /// partition leaves the item embeddings alone (MeLU's decision layers, the last layer).
    public init(model: MeLUModel, parameters: ParameterSet, items: FeatureTable, candidates: [Int32]) {
        self.model = model
        self.candidates = candidates
        let block = GradientMode.withoutRecording {
            model.itemRepresentation(EntityBatch(items, entities: candidates), parameters: parameters)
        }
        itemBlock = block.denseValues
        itemWidth = block.shape[1]
        if let width = model.configuration.hiddenSizes.first {
            let weight = parameters.tensor("decision.0.weight").denseValues
            firstLayer = (weight, Self.firstLayerProduct(itemBlock, itemWidth: itemWidth, weight: weight, width: width))
        } else {
            firstLayer = nil
        }
    }

    /// `block · W_item` (`[rows, width]`), W_item the last `itemWidth` rows of the first layer's weight.
    static func firstLayerProduct(_ block: [Float], itemWidth: Int, weight: [Float], width: Int) -> [Float] {
        let rows = block.count / max(itemWidth, 1)
        guard rows > 0 else { return [] }
        let userWidth = weight.count / width - itemWidth
        var product = [Float](repeating: 0, count: rows * width)
        product.withUnsafeMutableBufferPointer { out in
            block.withUnsafeBufferPointer { items in
                weight.withUnsafeBufferPointer { w in
                    Kernels.gemm(
                        transposeA: false, transposeB: false, m: rows, n: width, k: itemWidth, alpha: 1,
                        a: items.baseAddress!, lda: itemWidth, b: w.baseAddress! + userWidth * width,
                        ldb: width, beta: 0, c: out.baseAddress!, ldc: width)
                }
            }
        }
        return product
    }

    /// A ranker over precomputed item rows (`[candidates.count, itemWidth]`, row-major), for
    /// items whose representation is not a row of a feature table (items added while serving).
    public convenience init(model: MeLUModel, candidates: [Int32], itemBlock: [Float], itemWidth: Int) {
        self.init(model: model, candidates: candidates, itemBlock: itemBlock, itemWidth: itemWidth, firstLayer: nil)
    }

    init(
        model: MeLUModel, candidates: [Int32], itemBlock: [Float], itemWidth: Int,
        firstLayer: (weight: [Float], product: [Float])?
    ) {
        precondition(
            itemBlock.count == candidates.count * itemWidth,
            "CandidateRanker: the item block must have one row per candidate")
        self.model = model
        self.candidates = candidates
        self.itemBlock = itemBlock
        self.itemWidth = itemWidth
        self.firstLayer = firstLayer
    }

    /// This ranker with more candidates, whose item rows are given (`itemWidth` floats each).
    public func appending(candidates more: [Int32], itemRows: [Float]) -> CandidateRanker {
        let extended = firstLayer.map { cached in
            (
                cached.weight,
                cached.product
                    + Self.firstLayerProduct(
                        itemRows, itemWidth: itemWidth, weight: cached.weight,
                        width: model.configuration.hiddenSizes[0])
            )
        }
        return CandidateRanker(
            model: model, candidates: candidates + more, itemBlock: itemBlock + itemRows, itemWidth: itemWidth,
            firstLayer: extended)
    }

    /// The width of one cached item row.
    public var itemRowWidth: Int { itemWidth }

    /// Scores of every candidate for a user whose representation block is `user` (`[1, userWidth]`)
    /// under (adapted) `parameters`: ratings, or click logits.
    public func scores(userRepresentation user: Tensor, parameters: ParameterSet) -> [Float] {
        // Blocks of candidates on every core; below a few thousand rows one block is faster.
        let workers = candidates.count >= 4096 ? max(1, Parallel.defaultWorkers) : 1
        let block = (candidates.count + workers - 1) / max(workers, 1)
        let parts = Parallel.map(Array(0..<workers), workers: workers) { worker -> [Float] in
            let start = min(worker * block, candidates.count)
            return scores(
                rows: start..<min(start + block, candidates.count), userRepresentation: user, parameters: parameters)
        }
        return parts.flatMap { $0 }
    }

    /// Scores of the candidates in `range`.
    func scores(rows range: Range<Int>, userRepresentation user: Tensor, parameters: ParameterSet) -> [Float] {
        let rows = range.count
        guard rows > 0 else { return [] }
        let userValues = user.denseValues
        let userWidth = userValues.count
        let modulation: [(scale: [Float], shift: [Float])]? =
            model.configuration.modulation
            ? model.configuration.hiddenSizes.indices.map {
                (
                    parameters.tensor(ParameterName.modulationScale($0)).denseValues,
                    parameters.tensor(ParameterName.modulationShift($0)).denseValues
                )
            } : nil
        var layers: [(weight: [Float], bias: [Float], width: Int)] = model.configuration.hiddenSizes.indices.map {
            (
                parameters.tensor(ParameterName.decisionWeight($0)).denseValues,
                parameters.tensor(ParameterName.decisionBias($0)).denseValues,
                model.configuration.hiddenSizes[$0]
            )
        }
        layers.append(
            (
                parameters.tensor(ParameterName.outputWeight).denseValues,
                parameters.tensor(ParameterName.outputBias).denseValues, 1
            ))

        // First layer: bias + u·W_user once, shared by every row; then the cached item block
        // times W_item is added for all rows in one product.
        let first = layers[0]
        var shared = first.bias
        for j in 0..<first.width {
            for k in 0..<userWidth { shared[j] += userValues[k] * first.weight[k * first.width + j] }
        }
        var current = Self.rowsFilled(with: shared, count: rows)
        if let cached = firstLayer, cached.weight == first.weight {
            let width = first.width
            cached.product.withUnsafeBufferPointer { product in
                current.withUnsafeMutableBufferPointer { out in
                    let start = range.lowerBound * width
                    for i in 0..<(rows * width) { out[i] += product[start + i] }
                }
            }
        } else {
            current.withUnsafeMutableBufferPointer { out in
                itemBlock.withUnsafeBufferPointer { items in
                    first.weight.withUnsafeBufferPointer { weight in
                        Kernels.gemm(
                            transposeA: false, transposeB: false, m: rows, n: first.width, k: itemWidth, alpha: 1,
                            a: items.baseAddress! + range.lowerBound * itemWidth, lda: itemWidth,
                            b: weight.baseAddress! + userWidth * first.width,
                            ldb: first.width, beta: 1, c: out.baseAddress!, ldc: first.width)
                    }
                }
            }
        }
        var width = first.width
        for (index, layer) in layers.dropFirst().enumerated() {
            var next = Self.rowsFilled(with: layer.bias, count: rows)
            current.withUnsafeMutableBufferPointer { input in
                for i in 0..<input.count { input[i] = max(input[i], 0) }  // the previous layer's relu, branch-free
                if let (scale, shift) = modulation?[index] {
                    for r in 0..<rows {
                        for j in 0..<width { input[r * width + j] = input[r * width + j] * scale[j] + shift[j] }
                    }
                }
                layer.weight.withUnsafeBufferPointer { weight in
                    next.withUnsafeMutableBufferPointer { out in
                        Kernels.gemm(
                            transposeA: false, transposeB: false, m: rows, n: layer.width, k: width, alpha: 1,
                            a: input.baseAddress!, lda: width, b: weight.baseAddress!, ldb: layer.width,
                            beta: 1, c: out.baseAddress!, ldc: layer.width)
                    }
                }
            }
            current = next
            width = layer.width
        }
        return current
    }

    /// `count` copies of `row`, back to back.
    static func rowsFilled(with row: [Float], count: Int) -> [Float] {
        let width = row.count
        return [Float](unsafeUninitializedCapacity: count * width) { buffer, initialized in
            row.withUnsafeBufferPointer { source in
                for r in 0..<count {
                    (buffer.baseAddress! + r * width).update(from: source.baseAddress!, count: width)
                }
            }
            initialized = count * width
        }
    }

    /// The `count` best candidates (item, score), best first, skipping `excluded` items.
    public func rank(
        userRepresentation user: Tensor, parameters: ParameterSet, count: Int, excluding excluded: Set<Int32> = []
    )
        -> [(item: Int32, score: Float)]
    {
        let all = scores(userRepresentation: user, parameters: parameters)
        return Self.top(count, of: all, items: candidates, excluding: excluded)
    }

    /// Partial selection of the best `count` scores: O(n log count).
    public static func top(_ count: Int, of scores: [Float], items: [Int32], excluding excluded: Set<Int32>) -> [(
        item: Int32, score: Float
    )] {
        var best: [(item: Int32, score: Float)] = []
        best.reserveCapacity(count + 1)
        for (index, score) in scores.enumerated() {
            if best.count == count, let last = best.last, score <= last.score { continue }
            let item = items[index]
            if excluded.contains(item) { continue }
            var position = best.count
            while position > 0 && best[position - 1].score < score { position -= 1 }
            best.insert((item, score), at: position)
            if best.count > count { best.removeLast() }
        }
        return best
    }
}
