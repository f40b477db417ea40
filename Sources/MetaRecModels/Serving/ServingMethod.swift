import Foundation
import MetaRecCore
import MetaRecData

/// How one method serves: adapting a user to their feedback into a stored state, and scoring
/// every cached catalogue row from such a state. ``Recommender`` keeps everything method-free
/// (items, filters, top-k, hidden flags, labels, popularity, the lock) and calls a method once
/// per request; the per-row loops stay inside the concrete type, so no existential is called
/// per item.
///
/// A value is immutable: an item added while serving gives a new value
/// (``appending(item:)``), so a request reads a consistent snapshot taken under the
/// recommender's lock. Each method's conformance lives in its own folder (the network methods'
/// ``NetworkServingMethod``, the covariance head's ``CovarianceServingMethod``, TaNP's
/// ``TaNPServingMethod``); a saved method becomes one through
/// ``ServableMethod/servingMethod(bundle:catalogue:)``.
///
/// ```swift
/// struct PopularityServing: ServingMethod {
///     var popularity: [Float]
///     var methodName: String { "popularity" }
///     var objective: Objective { .rating }
///     var stateSize: Int { 0 }
///     func adapt(user: EntityBatch, userTable: FeatureTable, support: [(row: Int, target: Float)]) -> [Float] { [] }
///     func scores(user: EntityBatch, state: [Float]?) -> CatalogueScores { CatalogueScores(values: popularity) }
///     func appending(item: EntityBatch) -> Self { Self(popularity: popularity + [0]) }
/// }
/// let recommender = Recommender(bundle: bundle, method: PopularityServing(popularity: counts))
/// ```
public protocol ServingMethod: Sendable {
    /// The method's public name, as the service reports it ("maml", "covariance", "tanp", ...).
    var methodName: String { get }
    /// What the scores are: ratings or click logits.
    var objective: Objective { get }
    /// Floats per stored adapted state (0: the method does not adapt).
    var stateSize: Int { get }
    /// Whether ``scores(user:state:)`` gives a predictive variance (what exploration needs).
    var hasPredictiveVariance: Bool { get }
    /// The user's adapted state from their feedback: `support` holds catalogue rows (items added
    /// while serving included) and model targets, oldest first.
    func adapt(user: EntityBatch, userTable: FeatureTable, support: [(row: Int, target: Float)]) throws -> [Float]
    /// The score of every row, on the model's target scale before clipping, from a stored state
    /// (nil: the prior from the user's features). A state of the wrong size is an error.
    func scores(user: EntityBatch, state: [Float]?) throws -> CatalogueScores
    /// This method with one more row, the last: an item added while serving, from its encoded
    /// features (one entity).
    func appending(item: EntityBatch) throws -> Self
}

extension ServingMethod {
    public var hasPredictiveVariance: Bool { false }
}

/// One request's scores of every catalogue row, and the predictive variance when the method
/// has one.
public struct CatalogueScores {
    /// One score per row, unclipped.
    public var values: [Float]
    /// The epistemic variance of a row's score (exploration reads its square root); nil when
    /// the method has none. Evaluated only for the rows a request needs.
    public var variance: ((Int) -> Double)?
    /// Added to ``variance`` for the standard deviation of a returned item's rating.
    public var noiseVariance: Double

    public init(values: [Float], variance: ((Int) -> Double)? = nil, noiseVariance: Double = 0) {
        self.values = values
        self.variance = variance
        self.noiseVariance = noiseVariance
    }
}

/// A method with an exact Gaussian posterior over a linear user part (the covariance head): it
/// can choose questions by the expected reduction of predictive variance over the catalogue
/// (MacKay, Neural Computation 1992). ``Recommender`` asks for it with `as?`; other methods
/// ask about the most popular items.
public protocol ExactPosteriorMethod: ServingMethod {
    /// A summary of the rows not in `hidden` that the questions read (the covariance head: the
    /// mean of φφᵀ). ``Recommender`` caches it until the visible catalogue changes.
    func catalogueMoment(skipping hidden: RowSet) -> [Double]
    /// Up to `count` rows of `pool`, best first, each with its expected reduction, from the
    /// user's current posterior (`state`; the prior when nil or empty). `known` is the chance a
    /// user knows a row's item.
    func questions(
        count: Int, pool: [Int32], state: [Float]?, moment: [Double], known: (Int32) -> Double
    ) throws -> [(row: Int32, reduction: Double)]
}

/// A method that keeps a posterior per item added while serving (the covariance head with Ψ,
/// ``NewItemBelief``), folded from observations every serving process applies in the same
/// order (the store's catalogue log).
public protocol NewItemPosteriorMethod: ServingMethod {
    /// The rows that have an item posterior.
    var itemPosteriorRows: Set<Int> { get }
    /// For each support row with an item posterior, the observation's values (target first),
    /// with the user at `state` (nil: the prior from their features).
    func observations(user: EntityBatch, state: [Float]?, support: [(row: Int, target: Float)]) throws
        -> [(row: Int, values: [Float])]
    /// This method with an observation folded into `row`'s posterior; nil when the row has none
    /// or the values do not fit.
    func observing(row: Int, values: [Float]) -> Self?
}

/// A trained method that a ``ModelArchive`` saves and ``Recommender`` serves. Each method
/// declares its archive kind and how it reads its payload in its own folder; the archive's
/// registry (``ModelArchive/methods``) lists the types, one line each.
public protocol ServableMethod: ColdStartPredictor {
    /// The kind written in the archive header.
    static var archiveKind: ModelArchive.Kind { get }
    /// The method rebuilt from its archive (parameters checked against the architecture).
    static func restore(from archive: ModelArchive) throws -> Self
    /// The method's serving form over the bundle's catalogue (`catalogue` row r is item r).
    func servingMethod(bundle: ModelBundle, catalogue: FeatureTable) throws -> any ServingMethod
}

extension ServingMethod {
    /// The error for a stored state of the wrong length.
    func stateSizeError(_ count: Int, expected: Int, of part: String) -> RecommenderError {
        RecommenderError(.invalid, "the stored adapted state has \(count) values, \(part) \(expected)")
    }
}
