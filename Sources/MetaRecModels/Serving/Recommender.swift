import Foundation
import MetaRecCore
import MetaRecData

/// Recommends from a ``ModelBundle`` alone: adapts a user to their feedback with the bundle's
/// method (a ``ServingMethod``: MAML's inner loop, Finn et al. 2017; the covariance head's exact
/// posterior; TaNP's encoder pass, Lin et al. 2021), ranks the catalogue through the method's
/// cached item rows, and takes new items at run time from their raw features. A user's adapted
/// part is an ``AdaptedState``: computed once per feedback batch, so a read costs one scoring
/// pass. Everything here is method-free: items, filters, top-k, hidden flags, popularity and the
/// questions' orchestration.
///
/// ```swift
/// let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
/// let state = try recommender.adapt(userFeatures: [:], feedback: [("50", 5), ("172", 4)])
/// let top = try recommender.recommend(userFeatures: [:], state: state, count: 10, excluding: ["50", "172"])
/// ```
public final class Recommender: @unchecked Sendable {
    /// One catalogue item as clients see it.
    public struct Item: Sendable, Equatable {
        public var id: String
        public var title: String
        public var features: [String: FeatureValue]
        public var hidden: Bool
        /// When it was added while serving; nil for items of the training catalogue.
        public var addedAt: Date?
        public var popularity: Int
        /// Every category label among its features, for the category filter.
        var labels: Set<String>
    }

    /// A recommended item.
    public struct Scored: Sendable, Equatable {
        public var id: String
        public var title: String
        public var score: Float
        /// The predictive standard deviation, when the model has one (covariance head).
        public var standardDeviation: Float?
    }

    /// A user's adapted part: the adaptive parameters' values (network methods) or the posterior
    /// mean and covariance (covariance head), as floats, ready to store.
    public struct AdaptedState: Sendable, Equatable {
        public var values: [Float]
        public init(values: [Float]) { self.values = values }
    }

    public let bundle: ModelBundle
    public let objective: Objective
    /// The method's public name (``ServingMethod/methodName``).
    public let methodName: String
    private let lock = NSLock()
    /// Replaced, never mutated in place, when an item is added or an item posterior changes: a
    /// request takes it under the lock and scores outside it.
    private var method: any ServingMethod
    private var items: [Item]
    private var rows: [String: Int]
    /// The filters as rows, kept in step with `items`, so a request combines bit sets instead of
    /// reading every item: hidden items, and each category label's rows in catalogue order.
    private var hiddenRows: RowSet
    private var labelRows: [String: [Int32]]
    /// Ratings per training item, and its rows most rated first (ties in catalogue order): the
    /// questions' popularity, made once (an item added while serving has none, so it goes last).
    private let popularity: ItemPopularity
    private var popularityOrder: [Int32]
    /// The questions' summary of the visible items (``ExactPosteriorMethod``); nil after a
    /// change until asked.
    private var catalogueMoment: [Double]?

    /// Serves the bundle's own method (``ModelArchive/methods``).
    public convenience init(bundle: ModelBundle) throws {
        let catalogue = bundle.description.catalogue
        let table = bundle.description.itemEncoder.encode(catalogue.rawFeatures, count: catalogue.ids.count)
        self.init(
            bundle: bundle, method: try bundle.archive.predictor().servingMethod(bundle: bundle, catalogue: table))
    }

    /// Serves `method` over the bundle's catalogue and encoders: the method's row r must be
    /// catalogue item r (a method from the bundle's own archive is; see ``init(bundle:)``).
    public init(bundle: ModelBundle, method: any ServingMethod) {
        self.bundle = bundle
        let catalogue = bundle.description.catalogue
        self.method = method
        objective = method.objective
        methodName = method.methodName
        let catalogueItems = catalogue.ids.indices.map { row in
            let features = catalogue.rawFeatures.values(of: row)
            return Item(
                id: catalogue.ids[row], title: catalogue.titles?[row] ?? catalogue.ids[row], features: features,
                hidden: false,
                addedAt: nil, popularity: catalogue.popularity[row], labels: Self.labels(features))
        }
        items = catalogueItems
        rows = Dictionary(uniqueKeysWithValues: catalogue.ids.enumerated().map { ($1, $0) })
        hiddenRows = RowSet(count: catalogueItems.count)
        var labelRows: [String: [Int32]] = [:]
        for (row, item) in catalogueItems.enumerated() {
            for label in item.labels { labelRows[label, default: []].append(Int32(row)) }
        }
        self.labelRows = labelRows
        let counts = catalogue.popularity
        popularity = ItemPopularity(
            counts: Dictionary(uniqueKeysWithValues: counts.enumerated().map { (Int32($0.offset), $0.element) }),
            userCount: catalogue.trainingUsers ?? max(1, counts.max() ?? 1))
        popularityOrder = counts.indices.sorted { counts[$0] > counts[$1] || (counts[$0] == counts[$1] && $0 < $1) }
            .map(Int32.init)
    }

    private static func labels(_ features: [String: FeatureValue]) -> Set<String> {
        var labels = Set<String>()
        for value in features.values {
            switch value {
            case .text(let text): labels.insert(text)
            case .texts(let texts): labels.formUnion(texts)
            default: break
            }
        }
        return labels
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: - Catalogue

    /// Whether the method gives a predictive standard deviation (exploration needs one).
    public var hasUncertainty: Bool { locked { method.hasPredictiveVariance } }

    public var itemCount: Int { locked { items.count } }

    public func item(_ id: String) -> Item? {
        locked { rows[id].map { items[$0] } }
    }

    /// Items in catalogue order (training items, then items added while serving).
    public func items(offset: Int, limit: Int) -> (items: [Item], total: Int) {
        locked {
            let start = min(max(offset, 0), items.count)
            return (Array(items[start..<min(items.count, start + max(limit, 0))]), items.count)
        }
    }

    /// Hides an item from recommendations and questions (or shows it again); nil if unknown.
    @discardableResult
    public func setHidden(_ id: String, _ hidden: Bool) -> Item? {
        locked {
            guard let row = rows[id] else { return nil }
            if items[row].hidden != hidden { catalogueMoment = nil }
            items[row].hidden = hidden
            if hidden { hiddenRows.insert(row) } else { hiddenRows.remove(row) }
            return items[row]
        }
    }

    /// Throws what ``addItem(id:title:features:addedAt:hidden:)`` would for these features
    /// (unknown fields, wrong types), without adding anything.
    public func validateItem(features: [String: FeatureValue]) throws {
        _ = try bundle.description.itemEncoder.rawFeatures(features, side: "item")
    }

    /// Adds an item from its raw features: its row is computed now (feature embeddings, and the
    /// generated id embedding when the bundle holds a generator), so the next ranking includes it.
    @discardableResult
    public func addItem(
        id: String, title: String, features: [String: FeatureValue], addedAt: Date = Date(), hidden: Bool = false
    ) throws -> Item {
        guard !id.isEmpty else { throw RecommenderError(.invalid, "item id must not be empty") }
        let raw = try bundle.description.itemEncoder.rawFeatures(features, side: "item")
        let table = bundle.description.itemEncoder.encode(raw, count: 1)
        let batch = EntityBatch(table, entities: [0])
        return try locked {
            guard rows[id] == nil else { throw RecommenderError(.invalid, "item '\(id)' already exists") }
            let row = items.count
            method = try method.appending(item: batch)
            let item = Item(
                id: id, title: title, features: features, hidden: hidden, addedAt: addedAt, popularity: 0,
                labels: Self.labels(features))
            items.append(item)
            rows[id] = row
            hiddenRows.append(hidden)
            for label in item.labels { labelRows[label, default: []].append(Int32(row)) }
            popularityOrder.append(Int32(row))
            catalogueMoment = nil
            return item
        }
    }

    // MARK: - Users

    /// The user's encoded features (one row); unknown fields and wrong types are errors.
    public func userBatch(_ features: [String: FeatureValue]) throws -> (batch: EntityBatch, table: FeatureTable) {
        let encoder = bundle.description.userEncoder
        let table = encoder.encode(try encoder.rawFeatures(features, side: "user"), count: 1)
        return (EntityBatch(table, entities: [0]), table)
    }

    /// The user's adapted part given their feedback (raw values, oldest first); feedback on
    /// unknown items is an error. Items added while serving inform the covariance head's
    /// posterior and TaNP's task representation; the network methods adapt on catalogue items
    /// only (their rows are cached).
    public func adapt(userFeatures: [String: FeatureValue], feedback: [(item: String, value: Float)]) throws
        -> AdaptedState
    {
        let (batch, userTable) = try userBatch(userFeatures)
        let (method, rowsByID) = locked { (self.method, self.rows) }
        let support = try targets(feedback, rows: rowsByID)
        return AdaptedState(values: try method.adapt(user: batch, userTable: userTable, support: support))
    }

    /// Feedback as (catalogue row, model target); unknown items and values off the scale are errors.
    private func targets(_ feedback: [(item: String, value: Float)], rows rowsByID: [String: Int]) throws
        -> [(row: Int, target: Float)]
    {
        let scale = bundle.description.feedback
        return try feedback.map { item, value in
            guard let row = rowsByID[item] else {
                throw RecommenderError(.unknownItem, "item '\(item)' is not in the catalogue")
            }
            guard value.isFinite else {
                throw RecommenderError(.invalid, "feedback value for item '\(item)' is not finite")
            }
            guard scale.contains(value) else {
                throw RecommenderError(
                    .invalid,
                    "feedback value \(value) for item '\(item)' is not one this model reads: expected \(scale.expected)"
                )
            }
            return (row, scale.target(value))
        }
    }

    /// Folds feedback on items added while serving into their item posteriors (covariance
    /// bundles holding Ψ; ``NewItemBelief``): each rating is one linear observation of the
    /// item's correction, the user at their posterior mean, as in the exploration replay.
    /// `state` is the user's adapted part from *before* this feedback (nil: the prior from their
    /// features), so a rating does not count twice through the user. Feedback on other items is
    /// left to ``adapt(userFeatures:feedback:)``.
    /// - Returns: how many ratings were folded into an item posterior.
    @discardableResult
    public func observeNewItems(
        userFeatures: [String: FeatureValue], state: AdaptedState?, feedback: [(item: String, value: Float)]
    ) throws -> Int {
        let observations = try newItemObservations(userFeatures: userFeatures, state: state, feedback: feedback)
        return observations.filter { apply($0) }.count
    }

    /// One rating of an item added while serving, as every serving process folds it into the
    /// item's posterior: the target, then the user's posterior mean (``UserWeights``). Kept in
    /// the store's catalogue log, so replicas apply the same observations in the same order.
    public struct NewItemObservation: Sendable, Equatable {
        public var item: String
        public var values: [Float]
        public init(item: String, values: [Float]) {
            self.item = item
            self.values = values
        }
    }

    /// What ``observeNewItems(userFeatures:state:feedback:)`` would fold in, without folding it.
    public func newItemObservations(
        userFeatures: [String: FeatureValue], state: AdaptedState?, feedback: [(item: String, value: Float)]
    ) throws -> [NewItemObservation] {
        let (batch, _) = try userBatch(userFeatures)
        let (method, rowsByID) = locked { (self.method as? any NewItemPosteriorMethod, self.rows) }
        let beliefRows = method?.itemPosteriorRows ?? []
        let support = try targets(feedback, rows: rowsByID).filter { beliefRows.contains($0.row) }
        guard let method, !support.isEmpty else { return [] }
        var ids: [Int: String] = [:]
        for entry in feedback { if let row = rowsByID[entry.item] { ids[row] = entry.item } }
        return try method.observations(user: batch, state: state?.values, support: support).compactMap { row, values in
            ids[row].map { NewItemObservation(item: $0, values: values) }
        }
    }

    /// Folds an observation into its item's posterior; false when the item has none (another
    /// model's observation, or an item unknown here) or the values have the wrong length.
    @discardableResult
    public func apply(_ observation: NewItemObservation) -> Bool {
        locked {
            guard let row = rows[observation.item], let posterior = method as? any NewItemPosteriorMethod,
                let next = posterior.observing(row: row, values: observation.values)
            else { return false }
            method = next
            return true
        }
    }

    /// The `count` best visible items for a user (the meta-learned prior when `state` is nil),
    /// skipping `excluded` ids; `candidates` limits the pool; `category` keeps items with that label.
    /// The filters are row sets (``RowSet``) and the best rows come from a partial selection
    /// (``TopSelection``), so the per-item work of a request is the scoring pass alone.
    /// - Parameter exploration: how the covariance head's uncertainty enters the ranking
    ///   (``ExplorationPolicy``; the returned score stays the mean); anything but greedy needs a
    ///   model with a predictive standard deviation. `explorationSeed` seeds Thompson's draws
    ///   (nil: a fresh random seed).
    public func recommend(
        userFeatures: [String: FeatureValue], state: AdaptedState?, count: Int, excluding excluded: Set<String> = [],
        candidates: [String]? = nil, category: String? = nil, exploration: ExplorationPolicy = .greedy,
        explorationSeed: UInt64? = nil
    ) throws -> [Scored] {
        let (batch, _) = try userBatch(userFeatures)
        let (method, items, skip) = try locked {
            (
                self.method, self.items,
                try self.skippedRows(excluding: excluded, candidates: candidates, category: category)
            )
        }
        guard exploration == .greedy || method.hasPredictiveVariance else {
            throw RecommenderError(
                .invalid,
                "exploration '\(exploration)' needs a predictive standard deviation, which only the covariance head gives; this model is \(method.methodName) (use exploration=greedy)"
            )
        }
        let scale = bundle.description.feedback
        let scores = try method.scores(user: batch, state: state?.values)
        let clipped = scores.values.map(scale.clipped)
        var ranked = clipped
        if exploration != .greedy, let variance = scores.variance {
            var random = SeededGenerator(seed: explorationSeed ?? UInt64.random(in: 0...UInt64.max))
            ranked = exploration.scores(
                means: clipped.map(Double.init),
                standardDeviations: (0..<items.count).map { variance($0).squareRoot() },
                using: &random
            ).map(Float.init)
        }
        return TopSelection.best(count, of: ranked, skipping: skip).map { best in
            let r = best.row
            return Scored(
                id: items[r].id, title: items[r].title, score: clipped[r],
                standardDeviation: scores.variance.map { Float(($0(r) + scores.noiseVariance).squareRoot()) })
        }
    }

    /// The rows a request may not return: hidden ones, `excluded` ids, rows outside
    /// `candidates` and rows without the `category` label. Called under the lock; reads only
    /// the ids the request names.
    private func skippedRows(excluding excluded: Set<String>, candidates: [String]?, category: String?) throws
        -> RowSet
    {
        var skip = hiddenRows
        for id in excluded { if let row = rows[id] { skip.insert(row) } }
        if let candidates {
            var allowed = RowSet(count: items.count)
            for id in candidates {
                guard let row = rows[id] else {
                    throw RecommenderError(.unknownItem, "candidate item '\(id)' is not in the catalogue")
                }
                allowed.insert(row)
            }
            skip.formUnion(complementOf: allowed)
        }
        if let category {
            skip.formUnion(
                complementOf: RowSet(count: items.count, members: (labelRows[category] ?? []).lazy.map(Int.init)))
        }
        return skip
    }

    /// An item worth asking about, with why.
    public struct Question: Sendable, Equatable {
        public var item: Item
        /// The expected reduction of predictive variance over the catalogue if the user rated it
        /// (covariance head only).
        public var expectedVarianceReduction: Double?
        /// The share of training users who rated it: the chance a new user knows it.
        public var knownShare: Double
    }

    /// Visible items the user has not rated, best to ask about first. With the covariance head:
    /// the expected reduction of predictive variance over the catalogue, from the user's current
    /// posterior (`state`; the prior when nil), times the chance the user knows the item
    /// (``VarianceReductionChooser``'s greedy choice, here over the cached Φ and catalogue
    /// moment: ``CovarianceQuestions``); otherwise the most popular items (Rashid et al., IUI 2002).
    /// - Parameter candidates: when given, questions come from these items only.
    public func questions(
        count: Int, state: AdaptedState? = nil, excluding excluded: Set<String>,
        candidates: [String]? = nil
    ) throws -> [Question] {
        let (method, items, skip, order, moment) = try locked {
            () throws -> (any ServingMethod, [Item], RowSet, [Int32], [Double]?) in
            let skip = try self.skippedRows(excluding: excluded, candidates: candidates, category: nil)
            if let posterior = self.method as? any ExactPosteriorMethod, self.catalogueMoment == nil {
                self.catalogueMoment = posterior.catalogueMoment(skipping: self.hiddenRows)
            }
            return (self.method, self.items, skip, self.popularityOrder, self.catalogueMoment)
        }
        if let posterior = method as? any ExactPosteriorMethod {
            let pool = (0..<items.count).filter { !skip.contains($0) }.map(Int32.init)
            let chosen = try posterior.questions(
                count: count, pool: pool, state: state?.values, moment: moment ?? [],
                known: { self.popularity.knownProbability($0) })
            return chosen.map {
                Question(
                    item: items[Int($0.row)], expectedVarianceReduction: $0.reduction,
                    knownShare: popularity.knownProbability($0.row))
            }
        }
        // No predictive variance to reduce: the most popular items the user has not rated.
        var chosen: [Question] = []
        for row in order where chosen.count < count && !skip.contains(Int(row)) {
            chosen.append(
                Question(
                    item: items[Int(row)], expectedVarianceReduction: nil, knownShare: popularity.knownProbability(row))
            )
        }
        return chosen
    }

    /// Floats per stored adapted state (for storage estimates).
    public var adaptedStateSize: Int { locked { method.stateSize } }
}
