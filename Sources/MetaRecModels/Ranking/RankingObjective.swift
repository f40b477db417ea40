import MetaRecCore
import MetaRecData

/// What a meta-learner's query loss asks of the adapted model: the protocol's pointwise loss
/// alone, or beside it a ranking term over the query's liked items against disliked and sampled
/// catalogue items, so that a model trained on 10-item queries also ranks the whole catalogue.
public enum RankingObjective: String, Sendable, Codable, CaseIterable {
    /// Squared error (ratings) or cross-entropy (clicks) only: the rating tables' training.
    case pointwise
    /// Bayesian personalised ranking: mean −log σ(s⁺ − s⁻) over liked/negative pairs (Rendle et
    /// al., "BPR: Bayesian Personalized Ranking from Implicit Feedback", UAI 2009).
    case bpr
    /// Sampled softmax: for each liked item, −log of its softmax share among itself and the
    /// negatives (Jean et al., ACL 2015; Covington et al., RecSys 2016).
    case sampledSoftmax = "softmax"
}

/// The ranking term's settings, passed to ``MetaLearner`` through ``MetaTrainingOptions/ranking``.
/// The inner loop stays pointwise on the support (it is what a new user gives); only the outer,
/// query-side loss gains the ranking term.
public struct RankingLoss: Sendable, Codable, Equatable {
    public var objective: RankingObjective
    /// Warm catalogue items sampled per training task as negatives (none the user rated).
    public var negatives: Int
    /// Weight of the ranking term beside the pointwise loss (the pointwise loss keeps the
    /// predicted ratings on the scale the rating tables judge).
    public var weight: Float
    /// A query target at or above it is a liked item (4 on a rating scale, 0.5 for clicks).
    public var relevantAt: Float

    /// The target marking a sampled negative row in a training query; no rating or click has it.
    public static let sampledNegativeTarget: Float = -1

    public init(objective: RankingObjective, negatives: Int = 20, weight: Float = 0.5, relevantAt: Float = 4) {
        self.objective = objective
        self.negatives = negatives
        self.weight = weight
        self.relevantAt = relevantAt
    }

    /// The items of the warm training ratings: where negatives are drawn from (never a new item).
    public static func itemPool(_ ratingsByUser: [Int32: [Interaction]]) -> [Int32] {
        var seen = Set<Int32>()
        for ratings in ratingsByUser.values { for rating in ratings { seen.insert(rating.item) } }
        return seen.sorted()
    }

    /// `task` with `negatives` pool items the user did not rate appended to its query, each with
    /// ``sampledNegativeTarget``. Pointwise: the task unchanged.
    public func withNegatives(
        _ task: PreparedTask, rated: [Interaction], pool: [Int32], features: FeatureContext,
        random: inout SeededGenerator
    ) -> PreparedTask {
        guard objective != .pointwise, negatives > 0, !pool.isEmpty else { return task }
        let ratedItems = Set(rated.map(\.item))
        var chosen: [Int32] = []
        var attempts = 0
        while chosen.count < negatives && attempts < negatives * 20 {
            attempts += 1
            let item = pool[random.integer(below: pool.count)]
            if !ratedItems.contains(item) { chosen.append(item) }
        }
        guard !chosen.isEmpty else { return task }
        var copy = task
        copy.queryItemIDs = task.queryItemIDs + chosen
        copy.queryItems = EntityBatch(features.items, entities: copy.queryItemIDs)
        copy.queryTargets = Tensor(
            shape: [copy.queryItemIDs.count, 1],
            values: task.queryTargets.values + [Float](repeating: Self.sampledNegativeTarget, count: chosen.count))
        return copy
    }

    /// The query loss: `pointwise` on the real rows (targets other than the sampled-negative mark)
    /// plus `weight` times the ranking term, when the query has a liked item and a negative.
    public func loss(_ predictions: Tensor, _ targets: Tensor, pointwise: (Tensor, Tensor) -> Tensor) -> Tensor {
        let values = targets.values
        let real = values.indices.filter { values[$0] != Self.sampledNegativeTarget }
        let base: Tensor
        if real.count == values.count {
            base = pointwise(predictions, targets)
        } else {
            let selection = Self.selectionMatrix(rows: real, of: values.count)
            base = pointwise(
                matmul(selection, predictions), Tensor(shape: [real.count, 1], values: real.map { values[$0] }))
        }
        guard objective != .pointwise, let ranking = rankingTerm(predictions, targets: values) else { return base }
        return base + ranking * weight
    }

    /// The ranking term alone (nil without a liked item and a negative): BPR over every liked/negative
    /// pair, or the sampled softmax of each liked item against all negatives. Negatives are the
    /// sampled rows and the query items below `relevantAt`.
    public func rankingTerm(_ scores: Tensor, targets: [Float]) -> Tensor? {
        let n = targets.count
        let liked = targets.indices.filter { targets[$0] >= relevantAt }
        let negative = targets.indices.filter { targets[$0] < relevantAt }
        guard !liked.isEmpty, !negative.isEmpty, scores.count == n else { return nil }
        let column = scores.reshaped([n, 1])
        switch objective {
        case .pointwise:
            return nil
        case .bpr:
            // Row p of D is e_liked − e_negative, so D·s holds every pair's score difference.
            var difference = [Float](repeating: 0, count: liked.count * negative.count * n)
            var row = 0
            for i in liked {
                for j in negative {
                    difference[row * n + i] = 1
                    difference[row * n + j] = -1
                    row += 1
                }
            }
            let margins = matmul(Tensor(shape: [row, n], values: difference), column)
            return softplus(-margins).mean()
        case .sampledSoftmax:
            // log Σ exp over {liked item} ∪ negatives, shifted by the (constant) largest score so
            // exp cannot overflow; the shift cancels in the loss and its gradient.
            let shift = scores.values.max() ?? 0
            var members = [Float](repeating: 0, count: liked.count * n)
            var picks = [Float](repeating: 0, count: liked.count * n)
            for (row, i) in liked.enumerated() {
                members[row * n + i] = 1
                picks[row * n + i] = 1
                for j in negative { members[row * n + j] = 1 }
            }
            let sums = matmul(Tensor(shape: [liked.count, n], values: members), exp(column - shift))
            let chosen = matmul(Tensor(shape: [liked.count, n], values: picks), column)
            return (log(sums) + shift - chosen).mean()
        }
    }

    /// A constant 0/1 matrix picking `rows` of an n-row column.
    static func selectionMatrix(rows: [Int], of n: Int) -> Tensor {
        var values = [Float](repeating: 0, count: rows.count * n)
        for (slot, row) in rows.enumerated() { values[slot * n + row] = 1 }
        return Tensor(shape: [rows.count, n], values: values)
    }
}
