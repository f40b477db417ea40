import Foundation
import MetaRecData
import MetaRecModels

/// Whether a checkpoint may be used with the data given now. A model trained with split seed 0
/// and used with seed 1 has seen seed 1's test users in training, so its table would be wrong
/// while looking right; the same holds for another threshold or another data set.
enum ModelCompatibility {
    /// What differs between the checkpoint's data and the data given here (empty when nothing does).
    static func mismatches(
        _ trained: ModelArchive.DataDescription, datasetName: String, seed: UInt64,
        implicitThreshold: Float?
    ) -> [String] {
        var result: [String] = []
        if trained.name != datasetName {
            result.append("it was trained on '\(trained.name)', the data here is '\(datasetName)'")
        }
        if trained.seed != seed { result.append("it was trained with split seed \(trained.seed), not \(seed)") }
        if trained.implicitThreshold != implicitThreshold {
            func describe(_ t: Float?) -> String { t.map { "implicit threshold \($0)" } ?? "explicit ratings" }
            result.append(
                "it was trained on \(describe(trained.implicitThreshold)), not \(describe(implicitThreshold))")
        }
        return result
    }
}

/// Checks of `recommend`'s command line, each naming the offending value. The library checks
/// what it can know (unknown items, values off the model's scale); these catch what only a
/// command line can get wrong: an item given twice.
enum RecommendInput {
    /// The ITEM=VALUE pairs, each item once.
    static func once(_ pairs: [(String, Float)]) throws -> [(String, Float)] {
        var seen: [String: Float] = [:]
        for (id, value) in pairs {
            if let previous = seen[id] {
                throw RecommendInputError("item '\(id)' is rated twice (\(previous) and \(value)); give each item once")
            }
            seen[id] = value
        }
        return pairs
    }

    /// The candidate items from a comma-separated list, each once.
    static func candidates(_ list: String) throws -> [String] {
        var seen = Set<String>()
        return try list.split(separator: ",").map { raw in
            let id = raw.trimmingCharacters(in: .whitespaces)
            guard seen.insert(id).inserted else { throw RecommendInputError("candidate item '\(id)' is listed twice") }
            return id
        }
    }
}

/// Bad `recommend` input, with the offending value in the message.
struct RecommendInputError: Error, CustomStringConvertible, LocalizedError {
    let description: String
    init(_ description: String) { self.description = description }
    var errorDescription: String? { description }
}
