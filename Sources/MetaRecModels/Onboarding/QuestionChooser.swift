import Foundation
import MetaRecCore
import MetaRecData

/// What a question chooser knows about a new user: their features and the answers given so far.
public struct NewUserAnswers: Sendable {
    /// One row of user features (``EntityBatch/unknown(_:)`` for someone with none).
    public var features: EntityBatch
    /// The ratings given so far, in the order they were asked.
    public var answers: [Interaction]
    /// A stable key for choosers that draw at random (the user's id when there is one).
    public var key: Int64

    public init(features: EntityBatch, answers: [Interaction] = [], key: Int64 = 0) {
        self.features = features
        self.answers = answers
        self.key = key
    }
}

/// Picks which items to ask a new user to rate next (onboarding). Choices are greedy and
/// sequential: asking for `count` items returns the first `count` picks, best first, and an
/// answer can change later picks, so an interactive caller asks one at a time.
public protocol QuestionChooser: Sendable {
    /// The row name in the onboarding table.
    var name: String { get }
    /// Up to `count` items of `pool` to ask `user` about, best first; never one already answered
    /// and never the same item twice. Fewer only when the pool runs out.
    func choose(count: Int, for user: NewUserAnswers, pool: [Int32]) -> [Int32]
}

extension QuestionChooser {
    /// The pool without items the user has answered, without repeats, in the pool's order.
    func candidates(_ pool: [Int32], excluding user: NewUserAnswers) -> [Int32] {
        var seen = Set(user.answers.map(\.item))
        return pool.filter { seen.insert($0).inserted }
    }

    /// The `count` candidates with the highest `score`, ties kept in the pool's order.
    func highest(_ count: Int, of candidates: [Int32], by score: (Int32) -> Double) -> [Int32] {
        let scores = candidates.map(score)
        return candidates.indices
            .sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            .prefix(max(0, count)).map { candidates[$0] }
    }
}

/// How often each item was rated in the warm training data, and the spread of its ratings:
/// what the popularity-based choosers read. The chance that a new user knows an item is
/// estimated as the share of warm users who rated it.
public struct ItemPopularity: Sendable {
    public let counts: [Int32: Int]
    /// Users in the training data.
    public let userCount: Int
    /// Entropy (nats) of each item's distribution of rating values.
    public let entropies: [Int32: Double]

    /// From counts already made (a model bundle's catalogue popularity).
    public init(counts: [Int32: Int], userCount: Int, entropies: [Int32: Double] = [:]) {
        self.counts = counts
        self.userCount = userCount
        self.entropies = entropies
    }

    public init(training: [Interaction]) {
        var counts: [Int32: Int] = [:]
        var histograms: [Int32: [Float: Int]] = [:]
        var users = Set<Int32>()
        for rating in training {
            counts[rating.item, default: 0] += 1
            histograms[rating.item, default: [:]][rating.value.rounded(), default: 0] += 1
            users.insert(rating.user)
        }
        self.counts = counts
        userCount = users.count
        entropies = histograms.mapValues { histogram in
            let total = Double(histogram.values.reduce(0, +))
            return histogram.values.reduce(0.0) { entropy, count in
                let share = Double(count) / total
                return entropy - share * Foundation.log(share)
            }
        }
    }

    public func count(_ item: Int32) -> Int { counts[item] ?? 0 }

    /// The share of warm users who rated `item`: the chance a new user can answer about it.
    public func knownProbability(_ item: Int32) -> Double {
        userCount == 0 ? 0 : min(1, Double(count(item)) / Double(userCount))
    }
}

/// The most rated items first: the usual onboarding baseline (Rashid et al., "Getting to Know
/// You", IUI 2002).
public struct PopularFirstChooser: QuestionChooser {
    public let name = "popular first"
    public let popularity: ItemPopularity

    public init(popularity: ItemPopularity) { self.popularity = popularity }

    public func choose(count: Int, for user: NewUserAnswers, pool: [Int32]) -> [Int32] {
        highest(count, of: candidates(pool, excluding: user)) { Double(popularity.count($0)) }
    }
}

/// log(popularity) × entropy of the item's ratings (Rashid et al., IUI 2002, "Pop*Ent"): items
/// many people know and disagree about say most about a new user's taste.
public struct PopularityEntropyChooser: QuestionChooser {
    public let name = "popularity × entropy"
    public let popularity: ItemPopularity

    public init(popularity: ItemPopularity) { self.popularity = popularity }

    public func choose(count: Int, for user: NewUserAnswers, pool: [Int32]) -> [Int32] {
        highest(count, of: candidates(pool, excluding: user)) { item in
            Foundation.log(1 + Double(popularity.count(item))) * (popularity.entropies[item] ?? 0)
        }
    }
}

/// MeLU's evidence candidates (Lee et al., KDD 2019, §3.3): the item's mean gradient size over
/// training users times its popularity, each scaled to [0, 1] by its largest value. The
/// gradient sizes are given (``CovarianceHead/itemGradientSizes(training:features:)`` computes
/// them for the head's personal weights), so any model can supply its own.
public struct EvidenceChooser: QuestionChooser {
    public let name = "MeLU evidence (gradient × popularity)"
    public let popularity: ItemPopularity
    public let gradientSizes: [Int32: Double]
    private let largestGradient: Double
    private let largestCount: Double

    public init(popularity: ItemPopularity, gradientSizes: [Int32: Double]) {
        self.popularity = popularity
        self.gradientSizes = gradientSizes
        largestGradient = max(gradientSizes.values.max() ?? 0, .leastNonzeroMagnitude)
        largestCount = Double(max(popularity.counts.values.max() ?? 0, 1))
    }

    public func choose(count: Int, for user: NewUserAnswers, pool: [Int32]) -> [Int32] {
        highest(count, of: candidates(pool, excluding: user)) { item in
            (gradientSizes[item] ?? 0) / largestGradient * Double(popularity.count(item)) / largestCount
        }
    }
}

/// Items in random order, reproducible from the seed and the user's key.
public struct RandomChooser: QuestionChooser {
    public let name = "random"
    public let seed: UInt64

    public init(seed: UInt64 = 0) { self.seed = seed }

    public func choose(count: Int, for user: NewUserAnswers, pool: [Int32]) -> [Int32] {
        var random = SeededGenerator(seed: seed).derived("questions-\(user.key)-\(user.answers.count)")
        var remaining = candidates(pool, excluding: user)
        random.shuffle(&remaining)
        return Array(remaining.prefix(max(0, count)))
    }
}

/// The pool in its own order: offline, where the pool is the user's support in time order,
/// this is what the user happened to rate first (the passive few-shot curve).
public struct EarliestRatedChooser: QuestionChooser {
    public let name = "earliest rated"

    public init() {}

    public func choose(count: Int, for user: NewUserAnswers, pool: [Int32]) -> [Int32] {
        Array(candidates(pool, excluding: user).prefix(max(0, count)))
    }
}
