import Foundation
import MetaRecData
import MetaRecModels

/// Whether a checkpoint may be used with the data given now. A model trained with split seed 0
/// and used with seed 1 has seen seed 1's test users in training, so its table would be wrong
/// while looking right; the same holds for another threshold or another data set.
enum ModelCompatibility {
    /// What differs between the checkpoint's data and the data given here (empty when nothing does).
    static func mismatches(_ trained: ModelArchive.DataDescription, datasetName: String, seed: UInt64,
                           implicitThreshold: Float?) -> [String] {
        var result: [String] = []
        if trained.name != datasetName { result.append("it was trained on '\(trained.name)', the data here is '\(datasetName)'") }
        if trained.seed != seed { result.append("it was trained with split seed \(trained.seed), not \(seed)") }
        if trained.implicitThreshold != implicitThreshold {
            func describe(_ t: Float?) -> String { t.map { "implicit threshold \($0)" } ?? "explicit ratings" }
            result.append("it was trained on \(describe(trained.implicitThreshold)), not \(describe(implicitThreshold))")
        }
        return result
    }
}

/// Checks of `recommend`'s input, each naming the offending value (kept apart from the command
/// so that a server can reuse them).
enum RecommendInput {
    /// The lowest and highest value of the data set: ratings given to `recommend` must lie within.
    static func scale(of dataset: Dataset) -> ClosedRange<Float>? {
        guard let first = dataset.interactions.first?.value else { return nil }
        var low = first, high = first
        for x in dataset.interactions { low = min(low, x.value); high = max(high, x.value) }
        return low...high
    }

    /// The support set from ITEM=VALUE pairs: known items, each once, values on the data's scale.
    static func support(_ pairs: [(String, Float)], dataset: Dataset, lookup: [String: Int32]) throws -> [Interaction] {
        var seen: [String: Float] = [:]
        var support: [Interaction] = []
        // Implicit data holds 0/1 after the threshold; the raw value given is checked on that scale too.
        let scale: ClosedRange<Float>? = {
            if case .implicit = dataset.feedback { return nil }
            return Self.scale(of: dataset)
        }()
        for (id, value) in pairs {
            guard let item = lookup[id] else { throw RecommendInputError("item '\(id)' is not in \(dataset.name)") }
            if let previous = seen[id] {
                throw RecommendInputError("item '\(id)' is rated twice (\(previous) and \(value)); give each item once")
            }
            if let scale, !scale.contains(value) {
                throw RecommendInputError("rating \(value) for item '\(id)' is outside \(dataset.name)'s scale \(scale.lowerBound)-\(scale.upperBound)")
            }
            seen[id] = value
            support.append(Interaction(user: 0, item: item, value: dataset.feedback.map(value), timestamp: Int64(support.count)))
        }
        return support
    }

    /// Predicted ratings clipped to the data's scale (a rating of 6.3 on a 1-5 scale means 5);
    /// click probabilities are already in [0, 1].
    static func clipped(_ scores: [Float], to dataset: Dataset) -> [Float] {
        if case .implicit = dataset.feedback { return scores }
        guard let scale = scale(of: dataset) else { return scores }
        return scores.map { min(max($0, scale.lowerBound), scale.upperBound) }
    }

    /// The candidate items from a comma-separated list: known items, each once.
    static func candidates(_ list: String, dataset: Dataset, lookup: [String: Int32]) throws -> [Int32] {
        var seen = Set<String>()
        return try list.split(separator: ",").map { raw in
            let id = raw.trimmingCharacters(in: .whitespaces)
            guard let item = lookup[id] else { throw RecommendInputError("candidate item '\(id)' is not in \(dataset.name)") }
            guard seen.insert(id).inserted else { throw RecommendInputError("candidate item '\(id)' is listed twice") }
            return item
        }
    }
}

/// Bad `recommend` input, with the offending value in the message.
struct RecommendInputError: Error, CustomStringConvertible, LocalizedError {
    let description: String
    init(_ description: String) { self.description = description }
    var errorDescription: String? { description }
}
