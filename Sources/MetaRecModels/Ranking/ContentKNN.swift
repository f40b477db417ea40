import MetaRecCore
import MetaRecData

/// Content KNN: a candidate scored by the cosine similarity of its side features to the items the
/// user liked in the support (rated at least `likedAt`; all support items when none was liked),
/// summed. It needs no rating of the candidate, so unlike ItemKNN and EASE it ranks new items:
/// the classic content-based answer to item cold start (Pazzani and Billsus, 2007).
///
/// An item's vector is its encoded features (vocabularies fitted on existing items only): one
/// block per field, a multi-hot of the field's known indices (the unknown bucket 0 left out) or the
/// dense values, each block scaled to unit length so every field weighs the same (standardised
/// numbers are left out).
public struct ContentKNN: CandidateScorer {
    public let name = "content KNN"
    public let likedAt: Float
    /// CSR rows by item id: positions into a vector of `width` and their values (unit length).
    let offsets: [Int]
    let positions: [Int32]
    let values: [Float]
    let width: Int

    public init(items table: FeatureTable, likedAt: Float) {
        self.likedAt = likedAt
        var offsets = [0]
        var positions: [Int32] = []
        var values: [Float] = []
        var fieldStart: [Int] = []
        var width = 0
        for field in table.fields {
            fieldStart.append(width)
            width += field.kind.isIndexed ? max(field.cardinality, 0) : max(field.dimension, 0)
        }
        for entity in 0..<table.count {
            var blocks: [([Int32], [Float])] = []
            // The prior (one value every item has) and standardised numbers (one signed value, whose
            // unit block would only say its sign) carry no similarity.
            for (index, field) in table.fields.enumerated()
            where field.name != RawFeatures.priorField && field.kind != .numericStandardized {
                var p: [Int32] = []
                var v: [Float] = []
                if field.kind.isIndexed {
                    let known = Set(
                        table.indices(field: index, entity: entity).filter { $0 > 0 && Int($0) < field.cardinality })
                    for i in known.sorted() {
                        p.append(Int32(fieldStart[index] + Int(i)))
                        v.append(1)
                    }
                } else {
                    for (j, x) in table.dense(field: index, entity: entity).enumerated() where x != 0 && x.isFinite {
                        p.append(Int32(fieldStart[index] + j))
                        v.append(x)
                    }
                }
                let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm > 0 { blocks.append((p, v.map { $0 / norm })) }
            }
            // Unit length overall: each present field contributes 1 / sqrt(fields) of it.
            let scale = blocks.isEmpty ? 0 : 1 / Float(blocks.count).squareRoot()
            for (p, v) in blocks {
                positions.append(contentsOf: p)
                values.append(contentsOf: v.map { $0 * scale })
            }
            offsets.append(positions.count)
        }
        self.offsets = offsets
        self.positions = positions
        self.values = values
        self.width = width
    }

    /// The cosine similarity of two items (0 for an item without features or unknown).
    public func similarity(_ a: Int32, _ b: Int32) -> Float {
        var profile = [Float](repeating: 0, count: width)
        add(a, to: &profile)
        return dot(b, profile)
    }

    private func add(_ item: Int32, to profile: inout [Float]) {
        let i = Int(item)
        guard i >= 0, i + 1 < offsets.count else { return }
        for k in offsets[i]..<offsets[i + 1] { profile[Int(positions[k])] += values[k] }
    }

    private func dot(_ item: Int32, _ profile: [Float]) -> Float {
        let i = Int(item)
        guard i >= 0, i + 1 < offsets.count else { return 0 }
        var sum: Float = 0
        for k in offsets[i]..<offsets[i + 1] { sum += values[k] * profile[Int(positions[k])] }
        return sum
    }

    public func scores(_ task: PreparedTask, candidates: [Int32]) -> [Float] {
        let support = Array(zip(task.supportItemIDs, task.supportTargets.values))
        var liked = support.filter { $0.1 >= likedAt }.map(\.0)
        if liked.isEmpty { liked = support.filter { $0.1 > 0 }.map(\.0) }
        guard !liked.isEmpty, width > 0 else { return [Float](repeating: 0, count: candidates.count) }
        var profile = [Float](repeating: 0, count: width)
        for item in liked { add(item, to: &profile) }
        return candidates.map { dot($0, profile) }
    }
}
