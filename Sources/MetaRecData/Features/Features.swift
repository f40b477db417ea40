/// The kind of a feature field, which decides how it is encoded.
public enum FeatureKind: String, Sendable, CaseIterable, Codable {
    /// One value per entity → one embedding row.
    case categorical
    /// Several values per entity (e.g. genres) → several embedding rows, to be pooled.
    case multiCategorical
    /// A number cut into buckets → one embedding row.
    case numericBucketed
    /// A number standardised with the training mean and deviation → dense, dimension 1.
    case numericStandardized
    /// A date bucketed to its year or decade → one embedding row.
    case date
    /// A vector of floats (e.g. pretrained item representations) → dense.
    case dense
    /// Free text (a title, a description, tags) → its tokens' embedding rows, to be mean-pooled
    /// (see ``TextTokenizer``; vocabulary from training entities only).
    case text

    /// Whether the field is encoded as embedding-row indices (else as floats).
    public var isIndexed: Bool {
        switch self {
        case .categorical, .multiCategorical, .numericBucketed, .date, .text: return true
        case .numericStandardized, .dense: return false
        }
    }
}

/// How a date feature is bucketed.
public enum DateGranularity: String, Sendable, Equatable, Codable {
    case year, decade
}

/// A feature field of users or items. Index fields map to an embedding table of `cardinality`
/// rows (row 0 = unknown bucket, for values never seen in training and for missing values);
/// dense fields carry `dimension` floats per entity.
public struct FeatureField: Sendable, Equatable, Codable {
    public var name: String
    public var kind: FeatureKind
    public var cardinality: Int
    public var dimension: Int

    public init(name: String, kind: FeatureKind, cardinality: Int, dimension: Int) {
        self.name = name
        self.kind = kind
        self.cardinality = cardinality
        self.dimension = dimension
    }
}

/// How one raw column becomes a field.
public struct FeatureSpec: Sendable, Equatable, Codable {
    public var kind: FeatureKind
    /// numericBucketed: explicit boundaries; a value v goes to bucket 1 + #(boundaries <= v).
    public var bucketBoundaries: [Double]?
    /// numericBucketed without boundaries: this many quantile buckets fitted on training entities.
    public var bucketCount: Int
    public var dateGranularity: DateGranularity
    /// text: tokenisation and vocabulary.
    public var text: TextOptions
    /// date: how a bucket training never saw (a release year after the training period) is
    /// encoded. Reading it as "unknown" made the network predict new items about a star low,
    /// because unknown years were rare and old in training.
    public var unseenDates: UnseenOrderedValue

    public init(
        kind: FeatureKind, bucketBoundaries: [Double]? = nil, bucketCount: Int = 10,
        dateGranularity: DateGranularity = .year,
        text: TextOptions = TextOptions(), unseenDates: UnseenOrderedValue = .nearestKnown
    ) {
        self.kind = kind
        self.bucketBoundaries = bucketBoundaries
        self.bucketCount = bucketCount
        self.dateGranularity = dateGranularity
        self.text = text
        self.unseenDates = unseenDates
    }
}

/// How an ordered value outside the buckets seen in training is encoded.
public enum UnseenOrderedValue: String, Sendable, Equatable, Codable {
    /// The nearest bucket training saw (ties: the later one): a 1999 film in a 1920–1997 catalogue reads as 1997.
    case nearestKnown
    /// The unknown row 0, as a missing value.
    case unknown
}

/// Unencoded values of one column, aligned with internal entity ids.
public enum RawFeatureValues: Sendable, Equatable, Codable {
    /// categorical (at most one value) and multiCategorical; an empty list is missing; text: the
    /// entity's texts (e.g. title and description), tokenised by the encoder.
    case categories([[String]])
    /// numeric kinds, and dates as seconds since 1970; nil is missing.
    case numbers([Double?])
    /// dense vectors, row-major `dimension` floats per entity; `present[e]` false → zeros.
    case vectors(dimension: Int, values: [Float], present: [Bool])
}

public struct RawFeatureColumn: Sendable, Equatable, Codable {
    public var name: String
    public var spec: FeatureSpec
    public var values: RawFeatureValues

    public init(name: String, spec: FeatureSpec, values: RawFeatureValues) {
        self.name = name
        self.spec = spec
        self.values = values
    }
}

/// All raw feature columns of one side (users or items).
public struct RawFeatures: Sendable, Equatable, Codable {
    public var columns: [RawFeatureColumn]
    public init(columns: [RawFeatureColumn] = []) { self.columns = columns }
    public subscript(name: String) -> RawFeatureColumn? { columns.first { $0.name == name } }

    /// The field a side without features gets: one category that every entity has, so its one
    /// embedding row is a learned constant, the "prior" user or item. Without it a ratings-only
    /// log would give the model no input on that side; with it, warm items still differ by their
    /// id embedding while new items share the prior.
    public static let priorField = "prior"

    /// Whether this side has no features of its own (the model then sees only the prior).
    public var isFeatureless: Bool { columns.isEmpty }

    var withPriorIfEmpty: RawFeatures {
        guard columns.isEmpty else { return self }
        return RawFeatures(columns: [
            RawFeatureColumn(name: Self.priorField, spec: FeatureSpec(kind: .categorical), values: .categories([]))
        ])
    }
}

/// Encoded features of all entities of one side, CSR-style sparse per field: never dense one-hot
/// rows (meta-learning-pitfalls.md: MeLU's 10,246-column rows took 22 GB for ML-1M).
public struct FeatureTable: Sendable, Equatable {
    public var fields: [FeatureField]
    /// Number of entities.
    public var count: Int
    /// Per field: CSR offsets (count + 1) for index fields, empty for dense ones.
    var offsets: [[Int32]]
    /// Per field: embedding-row indices (index fields).
    var indexStorage: [[Int32]]
    /// Per field: `dimension` floats per entity (dense fields).
    var denseStorage: [[Float]]

    public init(count: Int) {
        self.fields = []
        self.count = count
        self.offsets = []
        self.indexStorage = []
        self.denseStorage = []
    }

    /// For index field `field` and entity `entity`: its embedding-row indices (at least one; 0 =
    /// unknown), each in 0..<cardinality.
    public func indices(field: Int, entity: Int) -> ArraySlice<Int32> {
        let o = offsets[field]
        return indexStorage[field][Int(o[entity])..<Int(o[entity + 1])]
    }

    /// For dense field `field`: `dimension` floats of `entity`.
    public func dense(field: Int, entity: Int) -> ArraySlice<Float> {
        let d = fields[field].dimension
        return denseStorage[field][(entity * d)..<((entity + 1) * d)]
    }

    /// The index of the field named `name`.
    public func fieldIndex(named name: String) -> Int? { fields.firstIndex { $0.name == name } }

    mutating func appendIndexed(_ field: FeatureField, offsets o: [Int32], indices: [Int32]) {
        fields.append(field)
        offsets.append(o)
        indexStorage.append(indices)
        denseStorage.append([])
    }

    mutating func appendDense(_ field: FeatureField, values: [Float]) {
        fields.append(field)
        offsets.append([])
        indexStorage.append([])
        denseStorage.append(values)
    }
}

/// Vocabularies and scalings fitted on training entities only, so a new user or item with
/// unseen values still gets a representation (the unknown row 0) and nothing about test
/// entities leaks into training (Docs/protocol.md: "nothing about a new user or a new item may be
/// seen in training"). Codable, so a model bundle carries it and serving encodes new entities
/// exactly as training did.
public struct FeatureEncoder: Sendable, Codable {
    enum Fitted: Sendable, Codable {
        case vocabulary([String: Int32])
        case boundaries([Double])
        case standardize(mean: Double, deviation: Double)
        case dates([Int: Int32], DateGranularity, UnseenOrderedValue)
        case dense(Int)
        case tokens([String: Int32], TextTokenizer)
    }

    public private(set) var fields: [FeatureField] = []
    var fitted: [Fitted] = []

    /// Fits every column of `raw` on the entities in `training`. A side without any column gets
    /// the single ``RawFeatures/priorField`` so that models always have a representation to learn.
    public static func fit(_ raw: RawFeatures, on training: [Int32]) -> FeatureEncoder {
        var encoder = FeatureEncoder()
        for column in raw.withPriorIfEmpty.columns {
            let kind = column.spec.kind
            switch column.values {
            case .categories(let lists) where kind == .text:
                let tokenizer = TextTokenizer(options: column.spec.text)
                let vocabulary = tokenizer.vocabulary(lists, training: training)
                encoder.fitted.append(.tokens(vocabulary, tokenizer))
                encoder.fields.append(
                    FeatureField(name: column.name, kind: .text, cardinality: vocabulary.count + 1, dimension: 0))
            case .categories(let lists):
                var seen = Set<String>()
                for e in training where Int(e) < lists.count { for v in lists[Int(e)] { seen.insert(v) } }
                var vocabulary: [String: Int32] = [:]
                for (i, v) in seen.sorted().enumerated() { vocabulary[v] = Int32(i + 1) }
                encoder.fitted.append(.vocabulary(vocabulary))
                encoder.fields.append(
                    FeatureField(name: column.name, kind: kind, cardinality: vocabulary.count + 1, dimension: 0))
            case .numbers(let values):
                let trainingValues = training.compactMap { Int($0) < values.count ? values[Int($0)] : nil }
                switch kind {
                case .date:
                    var buckets = Set<Int>()
                    for v in trainingValues { buckets.insert(dateBucket(v, column.spec.dateGranularity)) }
                    var table: [Int: Int32] = [:]
                    for (i, b) in buckets.sorted().enumerated() { table[b] = Int32(i + 1) }
                    encoder.fitted.append(.dates(table, column.spec.dateGranularity, column.spec.unseenDates))
                    encoder.fields.append(
                        FeatureField(name: column.name, kind: .date, cardinality: table.count + 1, dimension: 0))
                case .numericStandardized:
                    let n = Double(max(trainingValues.count, 1))
                    let mean = trainingValues.reduce(0, +) / n
                    let variance = trainingValues.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
                    let deviation = variance > 0 ? variance.squareRoot() : 1
                    encoder.fitted.append(.standardize(mean: mean, deviation: deviation))
                    encoder.fields.append(
                        FeatureField(name: column.name, kind: .numericStandardized, cardinality: 0, dimension: 1))
                default:  // numericBucketed (numbers with an index kind)
                    var boundaries = column.spec.bucketBoundaries ?? []
                    if column.spec.bucketBoundaries == nil, !trainingValues.isEmpty {
                        let sorted = trainingValues.sorted()
                        let buckets = max(column.spec.bucketCount, 1)
                        for q in 1..<buckets {
                            let b = sorted[min(sorted.count - 1, q * sorted.count / buckets)]
                            if boundaries.last.map({ b > $0 }) ?? true { boundaries.append(b) }
                        }
                    }
                    encoder.fitted.append(.boundaries(boundaries))
                    encoder.fields.append(
                        FeatureField(
                            name: column.name, kind: .numericBucketed, cardinality: boundaries.count + 2, dimension: 0))
                }
            case .vectors(let dimension, _, _):
                encoder.fitted.append(.dense(dimension))
                encoder.fields.append(
                    FeatureField(name: column.name, kind: .dense, cardinality: 0, dimension: dimension))
            }
        }
        return encoder
    }

    /// The element of sorted `known` closest to `value` (ties: the larger), nil when empty.
    static func nearest(_ value: Int, in known: [Int]) -> Int? {
        guard !known.isEmpty else { return nil }
        var lo = 0
        var hi = known.count  // first element >= value
        while lo < hi {
            let mid = (lo + hi) / 2
            if known[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        if lo == known.count { return known[lo - 1] }
        if lo == 0 { return known[0] }
        return value - known[lo - 1] < known[lo] - value ? known[lo - 1] : known[lo]
    }

    /// The token vocabulary of text field `name` (token → embedding row), for initialising its
    /// rows from word vectors; nil when `name` is not a text field.
    public func textVocabulary(ofField name: String) -> [String: Int32]? {
        guard let index = fields.firstIndex(where: { $0.name == name }), case .tokens(let vocabulary, _) = fitted[index]
        else { return nil }
        return vocabulary
    }

    static func dateBucket(_ seconds: Double, _ granularity: DateGranularity) -> Int {
        let year = yearOf(seconds: Int64(seconds.rounded(.down)))
        switch granularity {
        case .year: return year
        case .decade: return Int((Double(year) / 10).rounded(.down)) * 10
        }
    }

    /// Encodes every entity of `raw` (which must have the columns it was fitted on).
    public func encode(_ raw: RawFeatures, count: Int) -> FeatureTable {
        var table = FeatureTable(count: count)
        for (f, column) in raw.withPriorIfEmpty.columns.enumerated() where f < fitted.count {
            let field = fields[f]
            switch (fitted[f], column.values) {
            case (.vocabulary(let vocabulary), .categories(let lists)):
                var offsets: [Int32] = [0]
                offsets.reserveCapacity(count + 1)
                var indices: [Int32] = []
                indices.reserveCapacity(count)
                for e in 0..<count {
                    let values = e < lists.count ? lists[e] : []
                    if values.isEmpty {
                        indices.append(0)
                    } else {
                        var seen = Set<Int32>()
                        for v in values {
                            let index = vocabulary[v] ?? 0
                            if seen.insert(index).inserted { indices.append(index) }
                        }
                        if field.kind == .categorical, indices.count > Int(offsets.last!) + 1 {
                            indices.removeLast(indices.count - Int(offsets.last!) - 1)
                        }
                    }
                    offsets.append(Int32(indices.count))
                }
                table.appendIndexed(field, offsets: offsets, indices: indices)
            case (.dates(let buckets, let granularity, let unseen), .numbers(let values)):
                let known = buckets.keys.sorted()
                let indices = (0..<count).map { e -> Int32 in
                    guard e < values.count, let v = values[e] else { return 0 }
                    let bucket = Self.dateBucket(v, granularity)
                    if let index = buckets[bucket] { return index }
                    guard unseen == .nearestKnown, let nearest = Self.nearest(bucket, in: known) else { return 0 }
                    return buckets[nearest]!
                }
                table.appendIndexed(field, offsets: (0...count).map(Int32.init), indices: indices)
            case (.boundaries(let boundaries), .numbers(let values)):
                let indices = (0..<count).map { e -> Int32 in
                    guard e < values.count, let v = values[e] else { return 0 }
                    var lo = 0
                    var hi = boundaries.count  // first boundary > v
                    while lo < hi {
                        let mid = (lo + hi) / 2
                        if boundaries[mid] <= v { lo = mid + 1 } else { hi = mid }
                    }
                    return Int32(1 + lo)
                }
                table.appendIndexed(field, offsets: (0...count).map(Int32.init), indices: indices)
            case (.standardize(let mean, let deviation), .numbers(let values)):
                let dense = (0..<count).map { e -> Float in
                    guard e < values.count, let v = values[e] else { return 0 }
                    return Float((v - mean) / deviation)
                }
                table.appendDense(field, values: dense)
            case (.tokens(let vocabulary, let tokenizer), .categories(let texts)):
                var offsets: [Int32] = [0]
                var indices: [Int32] = []
                for e in 0..<count {
                    let known = e < texts.count ? tokenizer.tokens(texts[e]).compactMap { vocabulary[$0] } : []
                    indices.append(contentsOf: known.isEmpty ? [0] : known)
                    offsets.append(Int32(indices.count))
                }
                table.appendIndexed(field, offsets: offsets, indices: indices)
            case (.dense(let dimension), .vectors(_, let values, _)):
                var dense = [Float](repeating: 0, count: count * dimension)
                let n = min(values.count, dense.count)
                dense.replaceSubrange(0..<n, with: values[0..<n])
                table.appendDense(field, values: dense)
            default:
                preconditionFailure("feature '\(column.name)' changed kind between fitting and encoding")
            }
        }
        return table
    }
}
