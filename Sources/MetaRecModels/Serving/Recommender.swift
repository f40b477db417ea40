import Foundation
import MetaRecCore
import MetaRecData

/// Recommends from a ``ModelBundle`` alone: adapts a user to their feedback with the bundle's
/// rule (MAML's inner loop, Finn et al. 2017; the covariance head's exact posterior; TaNP's
/// encoder pass, Lin et al. 2021), ranks the catalogue through cached item rows
/// (``CandidateRanker``, ``TaNPRanker``), and takes new items at run time
/// from their raw features (the meta-embedding generator, Pan et al., SIGIR 2019, gives their
/// id embedding). A user's adapted part is an ``AdaptedState``: computed once per feedback
/// batch, so a read costs one scoring pass.
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

    /// How each method adapts and scores. Issue 19 asks for this switch (and the archive's and
    /// the routes') to become one protocol with the code in each method's folder; designed, not
    /// yet done:
    ///
    /// ```swift
    /// protocol ServingMethod: Sendable {
    ///     /// The bundle's method kind ("meta-learner", "covariance-head", "tanp", ...): the
    ///     /// archive keeps a registry `[String: any ServingMethod.Type]` instead of a switch.
    ///     static var kind: String { get }
    ///     /// From the method's own payload (its tensors and JSON header), with every catalogue
    ///     /// row cached as far as the method allows (``CandidateRanker``, Φ, ``TaNPRanker``).
    ///     init(payload: ParameterSet, header: Data, catalogue: FeatureTable, generator: ParameterSet) throws
    ///     var payload: (tensors: ParameterSet, header: Data) { get }
    ///     var stateSize: Int { get }
    ///     func adapt(user: EntityBatch, support: [(row: Int, target: Float)]) throws -> [Float]
    ///     /// Raw scores of every cached row from a stored state (nil: the prior).
    ///     func scores(user: EntityBatch, state: [Float]?) throws -> [Float]
    ///     /// Caches the row of an item added while serving.
    ///     func appendItem(_ item: EntityBatch, generator: ParameterSet, scale: Float?) throws
    ///     /// The predictive variance of a row for a state, when the method has one.
    ///     func variance(user: EntityBatch, state: [Float]?) throws -> ((Int) -> Double)?
    /// }
    /// ```
    ///
    /// Filters, top-k, items added, hidden flags and questions stay here, method-free.
    private enum Scorer {
        case network(
            model: MeLUModel, parameters: ParameterSet, rule: AdaptationRule?, rates: [String: Tensor],
            ranker: CandidateRanker)
        /// Φ, row-major `[rows, k]`, one row per catalogue item (in double: the posterior's precision).
        case covariance(head: CovarianceHead, phi: [Double])
        /// Row `r` of the ranker is catalogue row `r` (items added while serving included).
        case tanp(ranker: TaNPRanker)
    }

    public let bundle: ModelBundle
    public let objective: Objective
    private let catalogueTable: FeatureTable
    private let lock = NSLock()
    private var scorer: Scorer
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
    /// Σ φφᵀ over the visible items (covariance head's questions); nil after a change until asked.
    private var catalogueMoment: [Double]?
    /// Ψ from the bundle (covariance head), when it holds one.
    private let newItemPrior: NewItemPrior?
    /// The item posterior of each item added while serving, by row (covariance bundles with Ψ).
    private var itemBeliefs: [Int: NewItemBelief] = [:]

    public init(bundle: ModelBundle) throws {
        self.bundle = bundle
        let description = bundle.description
        let catalogue = description.catalogue
        let table = description.itemEncoder.encode(catalogue.rawFeatures, count: catalogue.ids.count)
        catalogueTable = table
        let predictor = try bundle.archive.predictor()
        let all = (0..<catalogue.ids.count).map(Int32.init)
        newItemPrior = bundle.archive.newItemPrior
        if let newItemPrior, let head = predictor as? CovarianceHead, newItemPrior.dimension != head.dimension {
            throw ModelArchiveError(
                path: bundle.archive.header.data.source,
                reason:
                    "the new-item prior has dimension \(newItemPrior.dimension), the covariance head \(head.dimension)")
        }
        switch predictor {
        case let learner as MetaLearner:
            scorer = try Self.networkScorer(
                learner.model, learner.parameters, learner.options.adaptation, learner.innerRates, table, all)
            objective = learner.model.configuration.objective
        case let network as PretrainedNetwork:
            scorer = try Self.networkScorer(network.model, network.parameters, network.fineTuning, [:], table, all)
            objective = network.model.configuration.objective
        case let head as CovarianceHead:
            let phi = GradientMode.withoutRecording {
                head.itemRepresentation(EntityBatch(table, entities: all), head.parameters)
            }
            scorer = .covariance(head: head, phi: phi.denseValues.map(Double.init))
            objective = head.configuration.objective
        case let tanp as TaNP:
            scorer = .tanp(ranker: try Self.tanpRanker(tanp, generator: bundle.generator, table: table, all: all))
            objective = tanp.configuration.objective
        default:
            throw ModelArchiveError(path: bundle.archive.header.data.source, reason: "\(predictor.name) cannot serve")
        }
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

    private static func networkScorer(
        _ model: MeLUModel, _ parameters: ParameterSet, _ rule: AdaptationRule?, _ rates: [String: Tensor],
        _ table: FeatureTable, _ all: [Int32]
    ) throws -> Scorer {
        if let rule, parameters.names.contains(where: { $0.hasPrefix("item.") && rule.partition.adapts($0) }) {
            throw ModelArchiveError(
                path: "model",
                reason:
                    "serving caches item rows, so the adaptive partition (\(rule.partition)) must leave item embeddings shared"
            )
        }
        let detached = ParameterSet(parameters.names.map { ($0, parameters.tensor($0).detached()) })
        return .network(
            model: model, parameters: detached, rule: rule, rates: rates,
            ranker: CandidateRanker(
                model: model, parameters: detached, items: table, candidates: all,
                adaptive: Set(rule.map { $0.partition.adaptive(parameters.names) } ?? [])))
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

    public var hasUncertainty: Bool {
        if case .covariance = scorer { return true } else { return false }
    }

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

    /// Adds an item from its raw features: its row is computed now (feature embeddings, and the
    /// generated id embedding when the bundle holds a generator), so the next ranking includes it.
    @discardableResult
    /// Throws what ``addItem(id:title:features:addedAt:hidden:)`` would for these features
    /// (unknown fields, wrong types), without adding anything.
    public func validateItem(features: [String: FeatureValue]) throws {
        _ = try bundle.description.itemEncoder.rawFeatures(features, side: "item")
    }

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
            switch scorer {
            case .network(let model, let parameters, let rule, let rates, let ranker):
                let itemRow = GradientMode.withoutRecording { () -> [Float] in
                    let featureBlock = model.itemFeatureRepresentation(batch, parameters: parameters)
                    guard model.configuration.itemIDEmbedding else { return featureBlock.denseValues }
                    let idEmbedding: [Float]
                    if let scale = bundle.description.generatorScale,
                        let weight = bundle.generator[MetaEmbeddingGenerator.weightName],
                        let bias = bundle.generator[MetaEmbeddingGenerator.biasName]
                    {
                        idEmbedding = (tanh(linear(featureBlock, weight: weight, bias: bias)) * scale).denseValues
                    } else {
                        idEmbedding = [Float](repeating: 0, count: model.configuration.embeddingSize)  // as training treats unseen items
                    }
                    return featureBlock.denseValues + idEmbedding
                }
                scorer = .network(
                    model: model, parameters: parameters, rule: rule, rates: rates,
                    ranker: ranker.appending(candidates: [Int32(row)], itemRows: itemRow))
            case .covariance(let head, let phi):
                // The head's id embedding of an item training never saw is zero.
                let zeroID = head.parameters.replacing(
                    [ParameterName.itemIDEmbedding: Tensor.zeros([1, head.configuration.embeddingSize])])
                let itemRow = GradientMode.withoutRecording {
                    head.itemRepresentation(batch, head.configuration.itemIDEmbedding ? zeroID : head.parameters)
                }
                let belief = try newItemPrior.map {
                    try NewItemBelief(representation: itemRow.denseValues.map(Double.init), prior: $0)
                }
                scorer = .covariance(head: head, phi: phi + itemRow.denseValues.map(Double.init))
                itemBeliefs[row] = belief
            case .tanp(let ranker):
                let itemRow = Self.tanpItemRow(
                    ranker.tanp, batch, generator: bundle.generator, scale: bundle.description.generatorScale)
                scorer = .tanp(ranker: ranker.appending(candidates: [Int32(row)], itemRepresentations: itemRow))
            }
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
        let (scorer, rowsByID) = locked { (self.scorer, self.rows) }
        let support = try targets(feedback, rows: rowsByID)
        switch scorer {
        case .network(let model, let parameters, let rule, let rates, _):
            guard let rule else { return AdaptedState(values: []) }
            let known = support.filter { $0.row < catalogueTable.count }
            let names = rule.partition.adaptive(parameters.names)
            let interactions = known.enumerated().map {
                Interaction(user: 0, item: Int32($1.row), value: $1.target, timestamp: Int64($0))
            }
            let task = PreparedTask(
                userBatch: batch, support: interactions, query: [],
                features: FeatureContext(users: userTable, items: catalogueTable))
            let fast = model.adaptForInference(parameters, to: task, rule: rule, rates: rates)
            return AdaptedState(values: names.flatMap { fast.tensor($0).denseValues })
        case .covariance(let head, let phi):
            let k = head.dimension
            let prior = GradientMode.withoutRecording {
                head.priorMean(batch, head.parameters).denseValues.map(Double.init)
            }
            let features = support.map { s in Array(phi[(s.row * k)..<(s.row * k + k)]) }
            guard let posterior = head.posterior(prior: prior, phi: features, targets: support.map { $0.target }) else {
                throw RecommenderError(.invalid, "the posterior is degenerate for this feedback")
            }
            return AdaptedState(values: posterior.mean.map(Float.init) + posterior.covariance.map(Float.init))
        case .tanp(let ranker):
            // One encoder pass, over every item's cached row (items added while serving too).
            return AdaptedState(
                values: ranker.taskRepresentation(user: batch, support: support.map { ($0.row, $0.target) }))
        }
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
        let (scorer, rowsByID, beliefRows) = locked { (self.scorer, self.rows, Set(self.itemBeliefs.keys)) }
        let support = try targets(feedback, rows: rowsByID).filter { beliefRows.contains($0.row) }
        guard case .covariance(let head, _) = scorer, !support.isEmpty else { return [] }
        var ids: [Int: String] = [:]
        for entry in feedback { if let row = rowsByID[entry.item] { ids[row] = entry.item } }
        let mean = try posterior(head, batch: batch, state: state).mean.map(Float.init)
        return support.compactMap { row, target in
            ids[row].map { NewItemObservation(item: $0, values: [target] + mean) }
        }
    }

    /// Folds an observation into its item's posterior; false when the item has none (another
    /// model's observation, or an item unknown here) or the values have the wrong length.
    @discardableResult
    public func apply(_ observation: NewItemObservation) -> Bool {
        locked {
            guard let row = rows[observation.item], var belief = itemBeliefs[row],
                case .covariance(let head, _) = scorer, observation.values.count == head.dimension + 1,
                observation.values.allSatisfy(\.isFinite)
            else { return false }
            let mean = observation.values.dropFirst().map(Double.init)
            belief.observe(UserWeights(mean: mean, covariance: []), rating: Double(observation.values[0]))
            itemBeliefs[row] = belief
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
        let (scorer, items, skip, beliefs) = try locked {
            (
                self.scorer, self.items,
                try self.skippedRows(excluding: excluded, candidates: candidates, category: category), self.itemBeliefs
            )
        }
        let scale = bundle.description.feedback
        switch scorer {
        case .network(let model, let parameters, let rule, _, let ranker):
            guard exploration == .greedy else {
                throw RecommenderError(
                    .invalid,
                    "exploration '\(exploration)' needs a predictive standard deviation, which only the covariance head gives; this model is a \(bundle.archive.header.kind) (use exploration=greedy)"
                )
            }
            var fast = parameters
            if let state, let rule, !state.values.isEmpty {
                fast = try Self.parameters(
                    parameters, adaptive: rule.partition.adaptive(parameters.names), state: state)
            }
            let user = GradientMode.withoutRecording { model.userRepresentation(batch, parameters: fast) }
            let scores = model.score(ranker.scores(userRepresentation: user, parameters: fast)).map(scale.clipped)
            return TopSelection.best(count, of: scores, skipping: skip).map {
                Scored(id: items[$0.row].id, title: items[$0.row].title, score: $0.score, standardDeviation: nil)
            }
        case .covariance(let head, let phi):
            let k = head.dimension
            let (mean, covariance) = try posterior(head, batch: batch, state: state)
            let user = UserWeights(mean: mean, covariance: covariance)
            // An item added while serving with an item posterior scores by its corrected mean
            // (φ + d)ᵀm in every policy (the posterior's best estimate; d = 0 before feedback) and
            // explores by both sides' epistemic variance; other items by the user's, φᵀSφ.
            var means = Self.means(phi, k: k, weights: mean)
            for (row, belief) in beliefs { means[row] = belief.predictive(user).mean }
            // Only when exploring or for the returned items: a k × k form per row.
            let variance = { (r: Int) in
                beliefs[r]?.predictive(user).variance
                    ?? max(quadraticForm(covariance, Array(phi[(r * k)..<(r * k + k)])), 0)
            }
            let clipped = means.map { scale.clipped(Float($0)) }
            var ranked = clipped
            if exploration != .greedy {
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
                    standardDeviation: Float((variance(r) + head.noiseVariance).squareRoot()))
            }
        case .tanp(let ranker):
            let representation = try Self.tanpTaskRepresentation(ranker, state: state)
            let scores = ranker.scores(user: batch, taskRepresentation: representation).map(scale.clipped)
            return TopSelection.best(count, of: scores, skipping: skip).map {
                Scored(id: items[$0.row].id, title: items[$0.row].title, score: $0.score, standardDeviation: nil)
            }
        }
    }

    /// Φm for every row, in double (the order of the uncached sum, so the scores are the same).
    static func means(_ phi: [Double], k: Int, weights: [Double]) -> [Double] {
        let rows = k == 0 ? 0 : phi.count / k
        return [Double](unsafeUninitializedCapacity: rows) { out, initialized in
            phi.withUnsafeBufferPointer { phi in
                weights.withUnsafeBufferPointer { m in
                    for r in 0..<rows {
                        var total = 0.0
                        let base = r * k
                        for j in 0..<k { total += phi[base + j] * m[j] }
                        out[r] = total
                    }
                }
            }
            initialized = rows
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
        let (scorer, items, skip, order, moment) = try locked {
            () throws -> (Scorer, [Item], RowSet, [Int32], [Double]?) in
            let skip = try self.skippedRows(excluding: excluded, candidates: candidates, category: nil)
            if case .covariance(let head, let phi) = self.scorer, self.catalogueMoment == nil {
                self.catalogueMoment = CovarianceQuestions.moment(phi, k: head.dimension, skipping: self.hiddenRows)
            }
            return (self.scorer, self.items, skip, self.popularityOrder, self.catalogueMoment)
        }
        switch scorer {
        case .covariance(let head, let phi):
            let k = head.dimension
            var covariance = head.priorCovariance
            if let state, !state.values.isEmpty {
                guard state.values.count == k + k * k else {
                    throw RecommenderError(
                        .invalid,
                        "the stored adapted state has \(state.values.count) values, the covariance head needs \(k + k * k)"
                    )
                }
                covariance = state.values[k...].map(Double.init)
            }
            // The current posterior stands in for the prior, so no answers are replayed.
            let pool = (0..<items.count).filter { !skip.contains($0) }.map(Int32.init)
            let chosen = CovarianceQuestions.choose(
                count: count, pool: pool, phi: phi, k: k, covariance: covariance, moment: moment ?? [],
                noiseVariance: head.noiseVariance, known: { self.popularity.knownProbability($0) })
            return chosen.map {
                Question(
                    item: items[Int($0.row)], expectedVarianceReduction: $0.reduction,
                    knownShare: popularity.knownProbability($0.row))
            }
        case .network, .tanp:
            // No predictive variance to reduce: the most popular items the user has not rated.
            var chosen: [Question] = []
            for row in order where chosen.count < count && !skip.contains(Int(row)) {
                chosen.append(
                    Question(
                        item: items[Int(row)], expectedVarianceReduction: nil,
                        knownShare: popularity.knownProbability(row)))
            }
            return chosen
        }
    }

    /// The stored state's floats back in the adaptive tensors' shapes.
    private static func parameters(_ base: ParameterSet, adaptive names: [String], state: AdaptedState) throws
        -> ParameterSet
    {
        var offset = 0
        var substitutes: [String: Tensor] = [:]
        for name in names {
            let shape = base.tensor(name).shape
            let size = shape.reduce(1, *)
            guard offset + size <= state.values.count else { break }
            substitutes[name] = Tensor(shape: shape, values: Array(state.values[offset..<(offset + size)]))
            offset += size
        }
        guard offset == state.values.count, substitutes.count == names.count else {
            throw RecommenderError(
                .invalid,
                "the stored adapted state has \(state.values.count) values, this model's adaptive part has \(offset)")
        }
        return base.replacing(substitutes)
    }

    private func posterior(_ head: CovarianceHead, batch: EntityBatch, state: AdaptedState?) throws -> (
        mean: [Double], covariance: [Double]
    ) {
        let k = head.dimension
        if let state {
            guard state.values.count == k + k * k else {
                throw RecommenderError(
                    .invalid,
                    "the stored adapted state has \(state.values.count) values, the covariance head needs \(k + k * k)")
            }
            return (state.values[..<k].map(Double.init), state.values[k...].map(Double.init))
        }
        let prior = GradientMode.withoutRecording {
            head.priorMean(batch, head.parameters).denseValues.map(Double.init)
        }
        return (prior, head.priorCovariance)
    }

    /// Floats per stored adapted state (for storage estimates).
    public var adaptedStateSize: Int {
        switch locked({ scorer }) {
        case .network(_, let parameters, let rule, _, _):
            guard let rule else { return 0 }
            return rule.partition.adaptive(parameters.names).reduce(0) { $0 + parameters.tensor($1).shape.reduce(1, *) }
        case .covariance(let head, _):
            return head.dimension * (head.dimension + 1)
        case .tanp(let ranker):
            return ranker.tanp.configuration.representationSize
        }
    }
}
