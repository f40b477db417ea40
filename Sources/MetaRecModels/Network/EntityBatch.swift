import MetaRecCore
import MetaRecData

/// The encoded features of a list of users or items, one row each, ready for the model:
/// one ``IndexLists`` per categorical-like field and one `[rows, dimension]` tensor per dense
/// field. Built from a ``FeatureTable`` without ever forming one-hot rows.
public struct EntityBatch: Sendable {
    public var rows: Int
    public var lists: [IndexLists]
    public var dense: [Tensor]
    /// Entity ids, for ID embeddings.
    public var ids: IndexLists

    /// The features of `entities` (internal ids) from `table`.
    public init(_ table: FeatureTable, entities: [Int32]) {
        rows = entities.count
        var lists: [IndexLists] = []
        var dense: [Tensor] = []
        for (index, field) in table.fields.enumerated() {
            if FeatureSpace.isEmbedded(field.kind) {
                var indices: [Int32] = []
                var offsets: [Int32] = [0]
                offsets.reserveCapacity(entities.count + 1)
                for entity in entities {
                    indices.append(contentsOf: table.indices(field: index, entity: Int(entity)))
                    offsets.append(Int32(indices.count))
                }
                lists.append(IndexLists(indices: indices, offsets: offsets))
            } else {
                var values: [Float] = []
                values.reserveCapacity(entities.count * field.dimension)
                for entity in entities { values.append(contentsOf: table.dense(field: index, entity: Int(entity))) }
                dense.append(Tensor(shape: [entities.count, field.dimension], values: values))
            }
        }
        self.lists = lists
        self.dense = dense
        self.ids = IndexLists(entities.map { [$0] })
    }
}

extension EntityBatch {
    /// One entity about whom nothing is known: every categorical field at its unknown bucket (0),
    /// every dense field at zero, and no id (an id embedding adds zeros, not entity 0's row).
    public static func unknown(_ space: FeatureSpace) -> EntityBatch {
        var batch = EntityBatch(rows: 1, lists: [], dense: [], ids: IndexLists([[]]))
        for field in space.fields {
            if field.isEmbedded {
                batch.lists.append(IndexLists([[0]]))
            } else {
                batch.dense.append(Tensor.zeros([1, field.size]))
            }
        }
        return batch
    }

    init(rows: Int, lists: [IndexLists], dense: [Tensor], ids: IndexLists) {
        self.rows = rows
        self.lists = lists
        self.dense = dense
        self.ids = ids
    }
}

/// The shape of one side's features, as the model needs to size its embedding tables.
public struct FeatureSpace: Sendable, Equatable, Codable {
    public struct Field: Sendable, Equatable, Codable {
        public var name: String
        /// Rows of the embedding table (categorical-like) or input width (dense).
        public var size: Int
        public var isEmbedded: Bool
    }
    public var fields: [Field]
    public var entityCount: Int

    public init(_ table: FeatureTable) {
        fields = table.fields.map {
            Field(
                name: $0.name, size: Self.isEmbedded($0.kind) ? $0.cardinality : $0.dimension,
                isEmbedded: Self.isEmbedded($0.kind))
        }
        entityCount = table.count
    }

    public init(fields: [Field], entityCount: Int) {
        self.fields = fields
        self.entityCount = entityCount
    }

    static func isEmbedded(_ kind: FeatureKind) -> Bool {
        switch kind {
        case .categorical, .multiCategorical, .numericBucketed, .date, .text: return true
        case .dense, .numericStandardized: return false
        }
    }
}

extension FeatureSpace {
    /// One `[rows, width]` block per field of `batch`: the mean of its embedding rows
    /// (`"<side>.<field>.embedding"`) or its dense values times `"<side>.<field>.projection"`; a
    /// side without fields gives one block of zeros.
    public func embeddings(of batch: EntityBatch, side: ParameterName.Side, parameters: ParameterSet, width: Int)
        -> [Tensor]
    {
        var parts: [Tensor] = []
        var listIndex = 0
        var denseIndex = 0
        for field in fields {
            if field.isEmbedded {
                parts.append(
                    embeddingBag(
                        parameters.tensor(ParameterName.field(side, field.name, embedded: true)), batch.lists[listIndex]
                    ))
                listIndex += 1
            } else {
                parts.append(
                    matmul(
                        batch.dense[denseIndex],
                        parameters.tensor(ParameterName.field(side, field.name, embedded: false))))
                denseIndex += 1
            }
        }
        if parts.isEmpty { parts.append(Tensor.zeros([batch.rows, width])) }
        return parts
    }
}

extension EntityBatch {
    /// The batches one after another, each followed by empty rows up to `rows` (no index in any
    /// list, zero dense values, no id, so they embed to zeros): the rows of a meta-batch's tasks,
    /// stacked for one pass through the embeddings.
    static func stacked(_ batches: [EntityBatch], paddedTo rows: Int) -> EntityBatch {
        precondition(batches.allSatisfy { $0.rows <= rows }, "EntityBatch.stacked: a batch has more than \(rows) rows")
        func lists(_ pick: (EntityBatch) -> IndexLists) -> IndexLists {
            var indices: [Int32] = []
            var offsets: [Int32] = [0]
            offsets.reserveCapacity(batches.count * rows + 1)
            for batch in batches {
                let source = pick(batch)
                indices.append(contentsOf: source.indices)
                for row in 0..<rows {
                    offsets.append(
                        Int32(indices.count) - Int32(source.indices.count) + source.offsets[min(row + 1, batch.rows)])
                }
            }
            return IndexLists(indices: indices, offsets: offsets)
        }
        let first = batches[0]
        return EntityBatch(
            rows: batches.count * rows,
            lists: first.lists.indices.map { field in lists { $0.lists[field] } },
            dense: first.dense.indices.map { field in
                let width = first.dense[field].shape[1]
                var values = [Float](repeating: 0, count: batches.count * rows * width)
                for (index, batch) in batches.enumerated() {
                    let source = batch.dense[field].values
                    for j in source.indices { values[index * rows * width + j] = source[j] }
                }
                return Tensor(shape: [batches.count * rows, width], values: values)
            },
            ids: lists(\.ids))
    }

    /// Each batch's first row repeated `rows` times, one after another: a meta-batch's users,
    /// one row per stacked item row.
    static func repeatingFirstRows(of batches: [EntityBatch], rows: Int) -> EntityBatch {
        func lists(_ pick: (EntityBatch) -> IndexLists) -> IndexLists {
            var indices: [Int32] = []
            var offsets: [Int32] = [0]
            offsets.reserveCapacity(batches.count * rows + 1)
            for batch in batches {
                let source = pick(batch)
                let row = source.indices[Int(source.offsets[0])..<Int(source.offsets[1])]
                for _ in 0..<rows {
                    indices.append(contentsOf: row)
                    offsets.append(Int32(indices.count))
                }
            }
            return IndexLists(indices: indices, offsets: offsets)
        }
        let first = batches[0]
        return EntityBatch(
            rows: batches.count * rows,
            lists: first.lists.indices.map { field in lists { $0.lists[field] } },
            dense: first.dense.indices.map { field in
                let width = first.dense[field].shape[1]
                var values: [Float] = []
                values.reserveCapacity(batches.count * rows * width)
                for batch in batches {
                    let row = batch.dense[field].values.prefix(width)
                    for _ in 0..<rows { values.append(contentsOf: row) }
                }
                return Tensor(shape: [batches.count * rows, width], values: values)
            },
            ids: lists(\.ids))
    }
}
