import Foundation
import MetaRecCore
import MetaRecData

/// Ranks many candidate items for one user in well under a millisecond per 10,000 items: the
/// candidates' representations are computed once and cached, and the first decision layer is
/// split into its user block and its item block (x·W = u·W_user + i·W_item), so a request
/// multiplies only the cached item block by the adapted weights: one matrix product per layer,
/// no autodiff graph.
///
/// Given the adaptive partition (``init(model:parameters:items:candidates:adaptive:)``), the
/// ranker also caches, per user block u, the network's output up to the first adaptive
/// operation: a last-layer state then costs one matrix-vector product over the catalogue, a
/// state that adapts only the last modulation one too (its scale folds into the output weight).
/// The shared part depends on u (the user's features enter the first layer), so it is cached per
/// distinct user block, least recently used first out, within ``prefixCacheBytes``.
///
/// A request runs on the caller's thread: parallelism comes from concurrent requests.
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
    /// The parameters the shared part is computed under, and where it ends (``Stage``); nil
    /// when the partition is not known (then nothing past the first-layer product is cached).
    let shared: (parameters: ParameterSet, stage: Int)?
    private let prefixes: PrefixCache

    /// Bytes the per-user-block cache of shared outputs may hold.
    public static let prefixCacheBytes = 256 << 20

    /// Caches the candidates' representations under `parameters`. Valid while the adaptive
    /// partition leaves the item embeddings alone (MeLU's decision layers, the last layer).
    /// - Parameter adaptive: the names that adapt per user (nil: unknown). Given, scoring with
    ///   ``scores(userRepresentation:parameters:)`` requires every other parameter to equal
    ///   `parameters`' (as a state substituted into them does).
    public init(
        model: MeLUModel, parameters: ParameterSet, items: FeatureTable, candidates: [Int32],
        adaptive: Set<String>? = nil
    ) {
        self.model = model
        self.candidates = candidates
        let block = GradientMode.withoutRecording {
            model.itemRepresentation(EntityBatch(items, entities: candidates), parameters: parameters)
        }
        itemBlock = block.denseValues
        itemWidth = block.shape[1]
        if let width = model.configuration.hiddenSizes.first {
            let weight = parameters.tensor(ParameterName.decisionWeight(0)).denseValues
            firstLayer = (weight, Self.firstLayerProduct(itemBlock, itemWidth: itemWidth, weight: weight, width: width))
        } else {
            firstLayer = nil
        }
        shared = adaptive.flatMap { adaptive in
            Self.sharedStage(model.configuration, adaptive: adaptive).map { (parameters: parameters, stage: $0) }
        }
        prefixes = PrefixCache()
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
        self.init(
            model: model, candidates: candidates, itemBlock: itemBlock, itemWidth: itemWidth, firstLayer: nil,
            shared: nil, prefixes: PrefixCache())
    }

    init(
        model: MeLUModel, candidates: [Int32], itemBlock: [Float], itemWidth: Int,
        firstLayer: (weight: [Float], product: [Float])?, shared: (parameters: ParameterSet, stage: Int)?,
        prefixes: PrefixCache
    ) {
        precondition(
            itemBlock.count == candidates.count * itemWidth,
            "CandidateRanker: the item block must have one row per candidate")
        self.model = model
        self.candidates = candidates
        self.itemBlock = itemBlock
        self.itemWidth = itemWidth
        self.firstLayer = firstLayer
        self.shared = shared
        self.prefixes = prefixes
    }

    /// This ranker with more candidates, whose item rows are given (`itemWidth` floats each):
    /// the cached products and shared outputs are extended by the new rows only.
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
        let next = CandidateRanker(
            model: model, candidates: candidates + more, itemBlock: itemBlock + itemRows, itemWidth: itemWidth,
            firstLayer: extended, shared: shared, prefixes: PrefixCache())
        if let shared {
            let added = candidates.count..<next.candidates.count
            for (user, values) in prefixes.entries() {
                let tail = next.forward(
                    next.firstHidden(rows: added, user: user, parameters: shared.parameters), rows: added.count,
                    from: 0, to: shared.stage, parameters: shared.parameters)
                next.prefixes.insert(values + tail, for: user, budget: next.prefixBudget)
            }
        }
        return next
    }

    /// The width of one cached item row.
    public var itemRowWidth: Int { itemWidth }

    // MARK: - Stages

    /// Positions in the network, so "how far is shared" is one number: `2i` is hidden layer
    /// i's ReLU output, `2i + 1` the same after its modulation (an identity step without
    /// modulation), `2L` the scores.
    static func finalStage(_ configuration: MeLUModel.Configuration) -> Int { 2 * configuration.hiddenSizes.count }

    /// The last stage computed from shared parameters only, when the first layer is shared.
    static func sharedStage(_ configuration: MeLUModel.Configuration, adaptive: Set<String>) -> Int? {
        let layers = configuration.hiddenSizes.count
        guard layers > 0, !adaptive.contains(ParameterName.decisionWeight(0)),
            !adaptive.contains(ParameterName.decisionBias(0))
        else { return nil }
        var stage = 0
        while stage < 2 * layers {
            let layer = stage / 2
            let nextIsShared: Bool
            if stage % 2 == 0 {
                nextIsShared =
                    !configuration.modulation
                    || (!adaptive.contains(ParameterName.modulationScale(layer))
                        && !adaptive.contains(ParameterName.modulationShift(layer)))
            } else if layer + 1 < layers {
                nextIsShared =
                    !adaptive.contains(ParameterName.decisionWeight(layer + 1))
                    && !adaptive.contains(ParameterName.decisionBias(layer + 1))
            } else {
                nextIsShared =
                    !adaptive.contains(ParameterName.outputWeight) && !adaptive.contains(ParameterName.outputBias)
            }
            guard nextIsShared else { break }
            stage += 1
        }
        return stage
    }

    /// Floats per row at `stage`.
    func width(at stage: Int) -> Int {
        stage >= Self.finalStage(model.configuration) ? 1 : model.configuration.hiddenSizes[stage / 2]
    }

    private var prefixBudget: Int {
        guard let shared else { return 0 }
        let entryBytes = max(1, candidates.count * width(at: shared.stage) * MemoryLayout<Float>.size)
        return max(1, Self.prefixCacheBytes / entryBytes)
    }

    // MARK: - Scores

    /// Scores of every candidate for a user whose representation block is `user` (`[1, userWidth]`)
    /// under (adapted) `parameters`: ratings, or click logits.
    public func scores(userRepresentation user: Tensor, parameters: ParameterSet) -> [Float] {
        let rows = candidates.count
        guard rows > 0 else { return [] }
        let final = Self.finalStage(model.configuration)
        guard let shared else {
            return forward(
                firstHidden(rows: 0..<rows, user: user.denseValues, parameters: parameters), rows: rows, from: 0,
                to: final, parameters: parameters)
        }
        let key = user.denseValues
        if let cached = prefixes.value(for: key) {
            return forward(cached, rows: rows, from: shared.stage, to: final, parameters: parameters)
        }
        let values = forward(
            firstHidden(rows: 0..<rows, user: key, parameters: shared.parameters), rows: rows, from: 0,
            to: shared.stage, parameters: shared.parameters)
        prefixes.insert(values, for: key, budget: prefixBudget)
        return forward(values, rows: rows, from: shared.stage, to: final, parameters: parameters)
    }

    /// Hidden layer 0's ReLU output (stage 0) for the candidates in `range`.
    func firstHidden(rows range: Range<Int>, user userValues: [Float], parameters: ParameterSet) -> [Float] {
        let rows = range.count
        guard rows > 0 else { return [] }
        let width = model.configuration.hiddenSizes[0]
        let weight = parameters.tensor(ParameterName.decisionWeight(0)).denseValues
        let bias = parameters.tensor(ParameterName.decisionBias(0)).denseValues
        let userWidth = userValues.count
        // bias + u·W_user once, shared by every row; then the item block times W_item.
        var sharedRow = bias
        for j in 0..<width {
            for k in 0..<userWidth { sharedRow[j] += userValues[k] * weight[k * width + j] }
        }
        var current = Self.rowsFilled(with: sharedRow, count: rows)
        current.withUnsafeMutableBufferPointer { out in
            if let cached = firstLayer, cached.weight == weight {
                cached.product.withUnsafeBufferPointer { product in
                    let start = range.lowerBound * width
                    for i in 0..<(rows * width) { out[i] = max(out[i] + product[start + i], 0) }
                }
            } else {
                itemBlock.withUnsafeBufferPointer { items in
                    weight.withUnsafeBufferPointer { w in
                        Kernels.gemm(
                            transposeA: false, transposeB: false, m: rows, n: width, k: itemWidth, alpha: 1,
                            a: items.baseAddress! + range.lowerBound * itemWidth, lda: itemWidth,
                            b: w.baseAddress! + userWidth * width, ldb: width, beta: 1, c: out.baseAddress!,
                            ldc: width)
                    }
                }
                for i in 0..<out.count { out[i] = max(out[i], 0) }
            }
        }
        return current
    }

    /// Runs `rows` rows from `start` to `end` (``finalStage(_:)``: the scores) under `parameters`.
    func forward(_ input: [Float], rows: Int, from start: Int, to end: Int, parameters: ParameterSet) -> [Float] {
        let configuration = model.configuration
        let layers = configuration.hiddenSizes.count
        var current = input
        var stage = start
        while stage < end {
            let layer = stage / 2
            let width = configuration.hiddenSizes[layer]
            if stage % 2 == 0 {
                if configuration.modulation {
                    let scale = parameters.tensor(ParameterName.modulationScale(layer)).denseValues
                    let shift = parameters.tensor(ParameterName.modulationShift(layer)).denseValues
                    if layer == layers - 1, end == 2 * layers {
                        // The last modulation folds into the output: Σⱼ wⱼ(sⱼhⱼ + tⱼ) + b.
                        let output = parameters.tensor(ParameterName.outputWeight).denseValues
                        let bias = parameters.tensor(ParameterName.outputBias).denseValues[0]
                        let weight = zip(scale, output).map { $0 * $1 }
                        let offset = zip(shift, output).reduce(bias) { $0 + $1.0 * $1.1 }
                        return Self.product(current, rows: rows, width: width, weight: weight, bias: [offset])
                    }
                    current.withUnsafeMutableBufferPointer { values in
                        for r in 0..<rows {
                            for j in 0..<width { values[r * width + j] = values[r * width + j] * scale[j] + shift[j] }
                        }
                    }
                }
                stage += 1
            } else if layer + 1 < layers {
                var next = Self.product(
                    current, rows: rows, width: width,
                    weight: parameters.tensor(ParameterName.decisionWeight(layer + 1)).denseValues,
                    bias: parameters.tensor(ParameterName.decisionBias(layer + 1)).denseValues)
                next.withUnsafeMutableBufferPointer { values in
                    for i in 0..<values.count { values[i] = max(values[i], 0) }
                }
                current = next
                stage += 1
            } else {
                return Self.product(
                    current, rows: rows, width: width,
                    weight: parameters.tensor(ParameterName.outputWeight).denseValues,
                    bias: parameters.tensor(ParameterName.outputBias).denseValues)
            }
        }
        return current
    }

    /// `input · weight + bias` for `rows` rows of `width` (weight `[width, bias.count]`): one
    /// blocked product through ``Kernels``.
    static func product(_ input: [Float], rows: Int, width: Int, weight: [Float], bias: [Float]) -> [Float] {
        let outputs = bias.count
        var out = rowsFilled(with: bias, count: rows)
        guard rows > 0 else { return out }
        input.withUnsafeBufferPointer { a in
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { c in
                    Kernels.gemm(
                        transposeA: false, transposeB: false, m: rows, n: outputs, k: width, alpha: 1,
                        a: a.baseAddress!, lda: width, b: w.baseAddress!, ldb: outputs, beta: 1, c: c.baseAddress!,
                        ldc: outputs)
                }
            }
        }
        return out
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

    /// Partial selection of the best `count` scores (``TopSelection``): O(n log count); ties
    /// keep the candidates' order.
    public static func top(_ count: Int, of scores: [Float], items: [Int32], excluding excluded: Set<Int32>) -> [(
        item: Int32, score: Float
    )] {
        let skip =
            excluded.isEmpty
            ? nil : RowSet(count: items.count, members: items.indices.filter { excluded.contains(items[$0]) })
        return TopSelection.best(count, of: scores, skipping: skip).map { (items[$0.row], $0.score) }
    }
}

/// Shared network outputs by user block, least recently used out first.
final class PrefixCache: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Float]: [Float]] = [:]
    /// Keys, least recently used first.
    private var order: [[Float]] = []

    func value(for key: [Float]) -> [Float]? {
        lock.withLock {
            guard let found = values[key] else { return nil }
            if order.last != key, let index = order.firstIndex(of: key) {
                order.remove(at: index)
                order.append(key)
            }
            return found
        }
    }

    func insert(_ value: [Float], for key: [Float], budget: Int) {
        lock.withLock {
            if values.updateValue(value, forKey: key) == nil { order.append(key) }
            while order.count > max(1, budget) { values[order.removeFirst()] = nil }
        }
    }

    func entries() -> [([Float], [Float])] {
        lock.withLock { order.compactMap { key in values[key].map { (key, $0) } } }
    }
}
