import Foundation

/// Reports never carry NaN or infinity: JSON has no such numbers (Foundation's encoder throws on
/// them, after the whole run), and a reader would take a number for a result. An undefined
/// metric is written as `null`, and `undefined` says why.
extension ScenarioResult {
    enum CodingKeys: String, CodingKey {
        case tasks, meanAbsoluteError, rootMeanSquaredError, ndcgAt3, ndcgAt5, mrrAt5, auc, aucTasks, ranking, undefined
        case fullRanking
    }

    /// Why each metric that is not a finite number is undefined, by field name.
    public var undefinedReasons: [String: String] {
        var reasons: [String: String] = [:]
        if !meanAbsoluteError.isFinite { reasons["meanAbsoluteError"] = "no task had query ratings" }
        if !rootMeanSquaredError.isFinite { reasons["rootMeanSquaredError"] = "no task had query ratings" }
        if !ndcgAt3.isFinite { reasons["ndcgAt3"] = "no task had a query item with a positive gain" }
        if auc.map({ !$0.isFinite }) ?? true {
            reasons["auc"] = "no task had both a positive and a negative query item (AUC needs both classes)"
        }
        if ranking == nil { reasons["ranking"] = "no task had both a positive and a negative query item" }
        return reasons
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(meanAbsoluteError.finiteOrNil, forKey: .meanAbsoluteError)
        try container.encode(rootMeanSquaredError.finiteOrNil, forKey: .rootMeanSquaredError)
        try container.encode(ndcgAt3.finiteOrNil, forKey: .ndcgAt3)
        try container.encodeIfPresent(ndcgAt5?.finiteOrNil, forKey: .ndcgAt5)
        try container.encodeIfPresent(mrrAt5?.finiteOrNil, forKey: .mrrAt5)
        try container.encode(auc?.finiteOrNil, forKey: .auc)
        try container.encode(aucTasks, forKey: .aucTasks)
        try container.encode(ranking, forKey: .ranking)
        try container.encodeIfPresent(fullRanking, forKey: .fullRanking)
        let reasons = undefinedReasons
        if !reasons.isEmpty { try container.encode(reasons, forKey: .undefined) }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tasks = try container.decode(Int.self, forKey: .tasks)
        meanAbsoluteError = try container.decodeIfPresent(Double.self, forKey: .meanAbsoluteError) ?? .nan
        rootMeanSquaredError = try container.decodeIfPresent(Double.self, forKey: .rootMeanSquaredError) ?? .nan
        ndcgAt3 = try container.decodeIfPresent(Double.self, forKey: .ndcgAt3) ?? .nan
        ndcgAt5 = try container.decodeIfPresent(Double.self, forKey: .ndcgAt5)
        mrrAt5 = try container.decodeIfPresent(Double.self, forKey: .mrrAt5)
        auc = try container.decodeIfPresent(Double.self, forKey: .auc)
        aucTasks = try container.decodeIfPresent(Int.self, forKey: .aucTasks) ?? 0
        ranking = try container.decodeIfPresent(RankingResult.self, forKey: .ranking)
        fullRanking = try container.decodeIfPresent(FullRankingResult.self, forKey: .fullRanking)
    }
}

extension RankingResult {
    enum CodingKeys: String, CodingKey { case k, recall, ndcg, hitRate, tasks }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(k, forKey: .k)
        try container.encode(recall.finiteOrNil, forKey: .recall)
        try container.encode(ndcg.finiteOrNil, forKey: .ndcg)
        try container.encode(hitRate.finiteOrNil, forKey: .hitRate)
        try container.encode(tasks, forKey: .tasks)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        k = try container.decode(Int.self, forKey: .k)
        recall = try container.decodeIfPresent(Double.self, forKey: .recall) ?? .nan
        ndcg = try container.decodeIfPresent(Double.self, forKey: .ndcg) ?? .nan
        hitRate = try container.decodeIfPresent(Double.self, forKey: .hitRate) ?? .nan
        tasks = try container.decode(Int.self, forKey: .tasks)
    }
}

extension FewShotPoint {
    enum CodingKeys: String, CodingKey { case k, meanAbsoluteError, auc }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(k, forKey: .k)
        try container.encode(meanAbsoluteError.finiteOrNil, forKey: .meanAbsoluteError)
        try container.encode(auc?.finiteOrNil, forKey: .auc)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        k = try container.decode(Int.self, forKey: .k)
        meanAbsoluteError = try container.decodeIfPresent(Double.self, forKey: .meanAbsoluteError) ?? .nan
        auc = try container.decodeIfPresent(Double.self, forKey: .auc)
    }
}

extension Double {
    /// Self when finite, else nil (written as JSON `null`).
    var finiteOrNil: Double? { isFinite ? self : nil }
}
