import MetaRecCore

extension EntityBatch {
    /// A copy in which each row's value of each indexed field is, with probability `rate`,
    /// replaced by the unknown row 0, and each row's id dropped (so an id embedding adds
    /// nothing) with the same probability. Training on such batches teaches the unknown row
    /// what an average entity is like, so that a value training never saw (a new category, a
    /// new tag) reads as "unknown", not as "bad" (the dropout-on-inputs idea of Volkovs et al.,
    /// NeurIPS 2017, "DropoutNet: Addressing Cold Start in Recommender Systems").
    public func maskingValues(rate: Float, using random: inout SeededGenerator) -> EntityBatch {
        guard rate > 0 else { return self }
        func masked(_ lists: IndexLists, replacement: [Int32]) -> IndexLists {
            IndexLists(
                (0..<lists.count).map { row -> [Int32] in
                    if random.uniform() < rate { return replacement }
                    return Array(lists.indices[Int(lists.offsets[row])..<Int(lists.offsets[row + 1])])
                })
        }
        var copy = self
        copy.lists = lists.map { masked($0, replacement: [0]) }
        copy.ids = masked(ids, replacement: [])
        return copy
    }
}
