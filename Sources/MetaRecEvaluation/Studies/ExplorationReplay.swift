import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Settings of the exploration replay.
public struct ExplorationReplayOptions: Sendable, Codable, Equatable {
    /// Rounds of the simulation; in each, every user with unshown logged new items is shown some.
    public var rounds = 3
    /// New items shown to a user per round (fewer when fewer are left).
    public var itemsPerRound = 3
    /// A new item's MAE is measured only while it has at least this many unshown logged ratings.
    public var minimumHeldOut = 5
    /// Strengths of Thompson sampling and of the upper-confidence bonus (greedy is always run).
    public var strengths: [Double] = [0.5, 1, 2]
    /// Seeds Thompson sampling's draws.
    public var seed: UInt64 = 0

    public init(
        rounds: Int = 3, itemsPerRound: Int = 3, minimumHeldOut: Int = 5, strengths: [Double] = [0.5, 1, 2],
        seed: UInt64 = 0
    ) {
        self.rounds = rounds
        self.itemsPerRound = itemsPerRound
        self.minimumHeldOut = minimumHeldOut
        self.strengths = strengths
        self.seed = seed
    }

    /// Throws an ``ExplorationError`` naming the first bad setting.
    public func validate() throws(ExplorationError) {
        guard rounds >= 1 else {
            throw ExplorationError("exploration replay: rounds must be at least 1, got \(rounds)")
        }
        guard itemsPerRound >= 1 else {
            throw ExplorationError("exploration replay: items per round must be at least 1, got \(itemsPerRound)")
        }
        guard minimumHeldOut >= 1 else {
            throw ExplorationError(
                "exploration replay: the minimum of held-out ratings must be at least 1, got \(minimumHeldOut)")
        }
        for strength in strengths where !(strength.isFinite && strength >= 0) {
            throw ExplorationError("exploration replay: strengths must be finite and >= 0, got \(strength)")
        }
    }

    /// Greedy, then Thompson sampling and UCB at each strength.
    public var policies: [ExplorationPolicy] {
        [.greedy] + strengths.map { .thompson(strength: $0) } + strengths.map { .upperConfidence(strength: $0) }
    }
}

/// The replay's inputs: known users' weights, new items' beliefs before any feedback, and the
/// logged ratings of those users on those items (the only pairs that can get feedback).
public struct ExplorationReplayWorld: Sendable {
    public var users: [Int32: UserWeights]
    public var items: [Int32: NewItemBelief]
    public var logged: [Interaction]
    /// The MAE a new item must reach to count as warm.
    public var referenceMAE: Double

    /// Keeps only logged ratings whose user and item are known.
    public init(
        users: [Int32: UserWeights], items: [Int32: NewItemBelief], logged: [Interaction], referenceMAE: Double
    ) {
        self.users = users
        self.items = items
        self.logged = logged.filter { users[$0.user] != nil && items[$0.item] != nil }
        self.referenceMAE = referenceMAE
    }
}

/// Per policy: regret, impressions until new items reach warm items' MAE, and the new items' final MAE.
public struct ExplorationReplayReport: Sendable, Codable {
    public struct Row: Sendable, Codable, Equatable {
        public var policy: String
        public var impressions: Int
        public var meanShownRating: Double
        /// Σ over users of (the sum of the best c_u of their logged ratings − the sum of the c_u shown).
        public var regret: Double
        /// The same after each round.
        public var regretByRound: [Double]
        /// Items with at least the minimum of held-out ratings before any impression.
        public var itemsEvaluated: Int
        /// Those whose MAE on their unshown logged ratings reached the reference.
        public var itemsReached: Int
        /// Mean impressions at which they reached it (0: already at the reference cold); nil if none did.
        public var meanImpressionsToReach: Double?
        /// Pooled over every logged rating left unshown at the end.
        public var finalMAE: Double
        public var unshownRatings: Int
    }

    public var dataset: String
    public var seed: UInt64
    public var options: ExplorationReplayOptions
    public var users: Int
    public var newItems: Int
    public var loggedRatings: Int
    /// The reference (warm items') MAE and where it comes from.
    public var referenceMAE: Double
    public var reference: String
    /// New items' MAE before any feedback, pooled over all logged ratings.
    public var coldMAE: Double
    /// Warm items the new-item prior was estimated on, and the trace of Ψ.
    public var priorItems: Int
    public var priorTrace: Double
    public var rows: [Row]
    public var wallSeconds: Double

    public func json() throws -> String { try JSONFormat.string(self) }

    public func markdown() -> String {
        func format(_ value: Double?, _ digits: Int = 4) -> String {
            guard let value, value.isFinite else { return "n/a" }
            return String(format: "%.\(digits)f", value)
        }
        var lines = [
            "## \(dataset) exploration replay (seed \(seed))", "",
            "Existing users \(users) and new items \(newItems) with \(loggedRatings) logged ratings; \(options.rounds) rounds, "
                + "\(options.itemsPerRound) of each user's unshown logged new items shown per round; the covariance head's "
                + "item posterior (prior from \(priorItems) warm items, tr Ψ = \(format(priorTrace))). Reference MAE "
                + "\(format(referenceMAE)) (\(reference)); new items' cold MAE \(format(coldMAE)). "
                + "Wall time \(String(format: "%.1f", wallSeconds)) s.",
            "",
            "| policy | impressions | mean shown rating | regret | regret / impression | items reaching reference "
                + "| mean impressions to reach | final MAE (unshown) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows {
            lines.append(
                "| \(row.policy) | \(row.impressions) | \(format(row.meanShownRating)) | \(format(row.regret, 1)) | "
                    + "\(format(row.regret / Double(max(row.impressions, 1)))) | \(row.itemsReached) / \(row.itemsEvaluated) | "
                    + "\(format(row.meanImpressionsToReach, 2)) | \(format(row.finalMAE)) |")
        }
        lines.append("")
        return lines.joined(separator: "\n")
    }
}

/// The item warm-up replayed as a bandit simulation (the bandit view of item cold start; replay
/// evaluation after Li et al., "Unbiased Offline Evaluation of Contextual-bandit-based News
/// Article Recommendation Algorithms", WSDM 2011): in each round every user, in order of their
/// first logged new-item rating, is shown the top of their unshown logged new items by the
/// policy; only shown pairs reveal their rating, which updates that item's posterior at once.
/// Users' weights stay fixed (they are known users); only the new items learn.
public enum ExplorationReplay {
    public static func run(
        _ policy: ExplorationPolicy, world: ExplorationReplayWorld, options: ExplorationReplayOptions
    ) -> ExplorationReplayReport.Row {
        var random = SeededGenerator(seed: options.seed).derived("exploration-replay-\(policy)")
        var byUser: [Int32: [Interaction]] = [:]
        var byItem: [Int32: [Interaction]] = [:]
        for rating in world.logged {
            byUser[rating.user, default: []].append(rating)
            byItem[rating.item, default: []].append(rating)
        }
        let order = byUser.keys.sorted {
            let a = byUser[$0]!.map(\.timestamp).min()!
            let b = byUser[$1]!.map(\.timestamp).min()!
            return a != b ? a < b : $0 < $1
        }
        // Each user's best possible sums: prefix sums of their logged ratings, best first.
        var bestSums: [Int32: [Double]] = [:]
        for (user, ratings) in byUser {
            let sorted = ratings.map { Double($0.value) }.sorted(by: >)
            var sums = [0.0]
            for value in sorted { sums.append(sums.last! + value) }
            bestSums[user] = sums
        }
        var beliefs = world.items
        var shown = Set<Pair>()
        var shownCount: [Int32: Int] = [:]
        var shownSum: [Int32: Double] = [:]
        var impressions: [Int32: Int] = [:]
        var reachedAt: [Int32: Int] = [:]

        func heldOutMAE(_ item: Int32) -> Double? {
            let unshown = byItem[item]!.filter { !shown.contains(Pair(user: $0.user, item: item)) }
            guard unshown.count >= options.minimumHeldOut else { return nil }
            let v = beliefs[item]!.effectiveRepresentation
            let total = unshown.reduce(0.0) { sum, rating in
                sum
                    + abs(
                        Double(rating.value) - zip(v, world.users[rating.user]!.mean).reduce(0.0) { $0 + $1.0 * $1.1 })
            }
            return total / Double(unshown.count)
        }
        let evaluated = Set(byItem.keys.filter { byItem[$0]!.count >= options.minimumHeldOut })
        for item in evaluated where heldOutMAE(item)! <= world.referenceMAE { reachedAt[item] = 0 }

        var regretByRound: [Double] = []
        for _ in 0..<options.rounds {
            for user in order {
                let candidates = byUser[user]!.filter { !shown.contains(Pair(user: user, item: $0.item)) }
                if candidates.isEmpty { continue }
                let weights = world.users[user]!
                let beliefsNow = candidates.map { beliefs[$0.item]!.predictive(weights) }
                let ranking = policy.ranking(
                    means: beliefsNow.map(\.mean), standardDeviations: beliefsNow.map { $0.variance.squareRoot() },
                    using: &random)
                for index in ranking.prefix(options.itemsPerRound) {
                    let rating = candidates[index]
                    shown.insert(Pair(user: user, item: rating.item))
                    beliefs[rating.item]!.observe(weights, rating: Double(rating.value))
                    impressions[rating.item, default: 0] += 1
                    shownCount[user, default: 0] += 1
                    shownSum[user, default: 0] += Double(rating.value)
                    if evaluated.contains(rating.item), reachedAt[rating.item] == nil,
                        let mae = heldOutMAE(rating.item), mae <= world.referenceMAE
                    {
                        reachedAt[rating.item] = impressions[rating.item]!
                    }
                }
            }
            regretByRound.append(
                shownCount.reduce(0.0) { total, entry in
                    total + bestSums[entry.key]![entry.value] - shownSum[entry.key]!
                })
        }
        var errors = 0.0
        var unshown = 0
        for rating in world.logged where !shown.contains(Pair(user: rating.user, item: rating.item)) {
            errors += abs(Double(rating.value) - beliefs[rating.item]!.predictive(world.users[rating.user]!).mean)
            unshown += 1
        }
        let total = impressions.values.reduce(0, +)
        let reached = reachedAt.values
        return ExplorationReplayReport.Row(
            policy: policy.description, impressions: total,
            meanShownRating: total == 0 ? .nan : shownSum.values.reduce(0, +) / Double(total),
            regret: regretByRound.last ?? 0, regretByRound: regretByRound, itemsEvaluated: evaluated.count,
            itemsReached: reached.count,
            meanImpressionsToReach: reached.isEmpty ? nil : Double(reached.reduce(0, +)) / Double(reached.count),
            finalMAE: unshown == 0 ? .nan : errors / Double(unshown), unshownRatings: unshown)
    }

    /// New items' MAE before any feedback, pooled over all logged ratings.
    public static func coldMAE(world: ExplorationReplayWorld) -> Double {
        guard !world.logged.isEmpty else { return .nan }
        let total = world.logged.reduce(0.0) { sum, rating in
            sum + abs(Double(rating.value) - world.items[rating.item]!.predictive(world.users[rating.user]!).mean)
        }
        return total / Double(world.logged.count)
    }

    private struct Pair: Hashable {
        var user: Int32
        var item: Int32
    }
}

extension Experiment {
    /// The exploration replay on this split's item-cold scenario: existing users (their weights
    /// the head's posteriors given their warm ratings) and new items (content-only φ plus the
    /// item posterior, its prior estimated on warm items), over every logged rating of the two.
    /// The reference is the head's MAE on validation users' query ratings of warm items.
    /// - Throws: `ExplorationError` for bad options or when no new item has a logged rating.
    public func explorationReplay(
        head: CovarianceHead, options: ExplorationReplayOptions = .init(), log: ((String) -> Void)? = nil
    ) throws -> ExplorationReplayReport {
        try options.validate()
        let start = Date()
        let users = head.userWeights(training: split.warmInteractions, features: features)
        let prior = try head.newItemPrior(training: split.warmInteractions, users: users, features: features)
        let logged = dataset.interactions.filter { split.isNewItem[Int($0.item)] && users[$0.user] != nil }
        let newItems = Array(Set(logged.map(\.item))).sorted()
        guard !newItems.isEmpty else {
            throw ExplorationError("exploration replay: no new item has a rating from an existing user")
        }
        var beliefs: [Int32: NewItemBelief] = [:]
        for (item, representation) in head.contentRepresentations(newItems, features: features) {
            beliefs[item] = try NewItemBelief(representation: representation, prior: prior)
        }
        var errors = 0.0
        var count = 0
        for task in validation {
            for (prediction, target) in zip(head.predict(task), task.queryTargets.values) {
                errors += Double(abs(prediction - target))
                count += 1
            }
        }
        let reference = count == 0 ? 0 : errors / Double(count)
        let world = ExplorationReplayWorld(users: users, items: beliefs, logged: logged, referenceMAE: reference)
        let k = prior.dimension
        var rows: [ExplorationReplayReport.Row] = []
        for policy in options.policies {
            log?("exploration replay: \(policy)")
            rows.append(ExplorationReplay.run(policy, world: world, options: options))
        }
        return ExplorationReplayReport(
            dataset: dataset.name, seed: seed, options: options, users: Set(world.logged.map(\.user)).count,
            newItems: newItems.count, loggedRatings: world.logged.count, referenceMAE: reference,
            reference: "the head on validation users' query ratings of warm items, pooled",
            coldMAE: ExplorationReplay.coldMAE(world: world), priorItems: prior.items,
            priorTrace: (0..<k).reduce(0) { $0 + prior.covariance[$1 * k + $1] }, rows: rows,
            wallSeconds: Date().timeIntervalSince(start))
    }
}
