import Foundation
import MetaRecCore
import MetaRecData

/// The warm ratings as item co-occurrence counts G = XᵀX, X the binary user × item matrix of
/// positive warm interactions (any rating; a click, not a sampled negative). Only items that
/// training saw get a column (at most ``maximumItems``, the most interacted-with), so a new item
/// has none: item-item models cannot rank new items, which is why content KNN and the popularity
/// of the support sets are there. Computed by matrix products over blocks of users.
public struct ItemCooccurrence: Sendable {
    /// EASE inverts an items × items matrix: past a few thousand items the cubic cost and the
    /// quadratic memory are no baseline's to pay, so only the most frequent items get a column.
    public static let maximumItems = 4000

    /// Column → item id, and item id → column.
    public let items: [Int32]
    public let column: [Int32: Int]
    /// Row-major items × items counts.
    public let gram: [Float]

    public var count: Int { items.count }

    public init(warm: [Interaction], maximumItems: Int = ItemCooccurrence.maximumItems) {
        var frequency: [Int32: Int] = [:]
        var byUser: [Int32: Set<Int32>] = [:]
        for x in warm where x.value > 0 && x.value.isFinite {
            if byUser[x.user, default: []].insert(x.item).inserted { frequency[x.item, default: 0] += 1 }
        }
        let kept = frequency.keys.sorted {
            frequency[$0]! != frequency[$1]! ? frequency[$0]! > frequency[$1]! : $0 < $1
        }
        .prefix(max(0, maximumItems)).sorted()
        items = Array(kept)
        var column: [Int32: Int] = [:]
        for (index, item) in items.enumerated() { column[item] = index }
        self.column = column
        let n = items.count
        var gram = [Float](repeating: 0, count: n * n)
        let users = byUser.keys.sorted()
        let block = 256
        var x = [Float](repeating: 0, count: block * max(n, 1))
        var start = 0
        while start < users.count && n > 0 {
            let rows = min(block, users.count - start)
            for i in 0..<(rows * n) { x[i] = 0 }
            for r in 0..<rows {
                for item in byUser[users[start + r]]! { if let c = column[item] { x[r * n + c] = 1 } }
            }
            x.withUnsafeBufferPointer { a in
                gram.withUnsafeMutableBufferPointer { g in
                    Kernels.gemm(
                        transposeA: true, transposeB: false, m: n, n: n, k: rows, alpha: 1, a: a.baseAddress!, lda: n,
                        b: a.baseAddress!, ldb: n, beta: 1, c: g.baseAddress!, ldc: n)
                }
            }
            start += rows
        }
        self.gram = gram
    }
}

/// A new user scored by an items × items weight matrix W: score(j) = Σ over the support's items i
/// with a positive value of W[i][j]; items without a column score 0. ItemKNN and EASE differ only in W.
public struct ItemItemScorer: CandidateScorer {
    public let name: String
    public let column: [Int32: Int]
    /// Row-major, `column.count` squared.
    public let weights: [Float]

    public init(name: String, column: [Int32: Int], weights: [Float]) {
        self.name = name
        self.column = column
        self.weights = weights
    }

    public func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] {
        let n = column.count
        guard n > 0, weights.count == n * n else { return [Float](repeating: 0, count: candidates.count) }
        var profile = [Float](repeating: 0, count: n)
        var seen: Set<Int> = []
        weights.withUnsafeBufferPointer { w in
            // Like X, the profile holds positive interactions only: a click log's negatives
            // (value 0) say what the user passed over, not what to recommend more of.
            for (item, value) in zip(task.supportItemIDs, task.supportTargets.values) where value > 0 {
                guard let row = column[item], seen.insert(row).inserted else { continue }
                for j in 0..<n { profile[j] += w[row * n + j] }
            }
        }
        return candidates.map { column[$0].map { profile[$0] } ?? 0 }
    }
}

/// ItemKNN (Sarwar et al., WWW 2001; Deshpande and Karypis, TOIS 2004): cosine similarity of the
/// items' warm interaction columns, no self-similarity, a new user scored by the summed
/// similarity of each candidate to the items of their support.
public enum ItemKNN {
    public static func fit(_ cooccurrence: ItemCooccurrence) -> ItemItemScorer {
        let n = cooccurrence.count
        let g = cooccurrence.gram
        var weights = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n where i != j {
                let norm = (g[i * n + i] * g[j * n + j]).squareRoot()
                weights[i * n + j] = norm > 0 ? g[i * n + j] / norm : 0
            }
        }
        return ItemItemScorer(name: "ItemKNN (cosine)", column: cooccurrence.column, weights: weights)
    }
}

/// EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item-item
/// ridge regression with a zero diagonal in closed form, B = I − P·diag(1/diag(P)) with
/// P = (XᵀX + λI)⁻¹, so B[i][j] = −P[i][j] / P[j][j] off the diagonal and 0 on it.
public enum EASE {
    /// λ candidates, chosen on validation users by recall@20 (``RankingBaselines``).
    public static let ridgeGrid: [Float] = [20, 50, 100, 200, 500, 1000]

    /// Nil when G + λI cannot be factored (λ ≤ 0, or non-finite counts).
    public static func fit(_ cooccurrence: ItemCooccurrence, ridge lambda: Float) -> ItemItemScorer? {
        let n = cooccurrence.count
        guard n > 0, lambda > 0, lambda.isFinite else { return nil }
        var a = cooccurrence.gram.map(Double.init)
        for i in 0..<n { a[i * n + i] += Double(lambda) }
        guard let factor = try? Cholesky(a, size: n) else { return nil }
        let p = factor.inverseByProduct()
        return fit(inverse: p, size: n, column: cooccurrence.column, ridge: lambda)
    }

    /// B from P = (XᵀX + λI)⁻¹.
    static func fit(inverse p: [Float], size n: Int, column: [Int32: Int], ridge lambda: Float) -> ItemItemScorer {
        var weights = [Float](repeating: 0, count: n * n)
        for j in 0..<n {
            let diagonal = p[j * n + j]
            guard diagonal != 0, diagonal.isFinite else { continue }
            for i in 0..<n where i != j { weights[i * n + j] = -p[i * n + j] / diagonal }
        }
        return ItemItemScorer(name: "EASE", column: column, weights: weights)
    }

    static func formatRidge(_ lambda: Float) -> String { String(format: "%g", Double(lambda)) }
}

/// Popularity: warm interaction count for an existing item; for a new item, which training never
/// saw, its ratings in the support sets of the scenario's tasks (what a live system would have seen
/// by then). Sampled negatives (value 0) are not interactions.
public struct Popularity: CandidateScorer {
    public let name = "popularity"
    public let counts: [Int32: Float]

    public init(counts: [Int32: Float]) { self.counts = counts }

    /// - Parameters:
    ///   - warm: the warm interactions (existing items only).
    ///   - supports: the support ratings of the scenario's tasks; counted for new items only.
    public init(warm: [Interaction], supports: [Interaction], isNewItem: [Bool]) {
        var counts: [Int32: Float] = [:]
        for x in warm where x.value > 0 { counts[x.item, default: 0] += 1 }
        for x in supports where x.value > 0 && isNewItem.indices.contains(Int(x.item)) && isNewItem[Int(x.item)] {
            counts[x.item, default: 0] += 1
        }
        self.counts = counts
    }

    public func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] { candidates.map { counts[$0] ?? 0 } }
}
