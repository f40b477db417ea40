import Foundation
import MetaRecCore

/// How a ranking trades what the model believes (the mean) against what it does not know yet
/// (the standard deviation of that belief): the bandit view of cold start. Showing an item
/// whose score is uncertain to the users most likely to tell something about it warms it up
/// sooner, at the price of some worse recommendations now.
///
/// - `greedy`: rank by the mean.
/// - `thompson(strength:)`: rank by a draw from N(mean, (strength · sd)²), Thompson sampling
///   (Thompson 1933; Chapelle and Li, "An Empirical Evaluation of Thompson Sampling", NIPS 2011);
///   strength 1 samples the posterior itself.
/// - `upperConfidence(strength:)`: rank by mean + strength · sd, the upper-confidence bonus of
///   LinUCB (Li et al., "A Contextual-Bandit Approach to Personalized News Article
///   Recommendation", WWW 2010).
public enum ExplorationPolicy: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    case greedy
    case thompson(strength: Double)
    case upperConfidence(strength: Double)

    /// The names the command line and the HTTP API use.
    public static let names = ["greedy", "thompson", "ucb"]

    /// A policy from its name (`greedy`, `thompson`, `ucb`) and strength.
    /// - Throws: `ExplorationError` naming the bad name or strength and what was expected.
    public init(name: String, strength: Double = 1) throws(ExplorationError) {
        guard strength.isFinite, strength >= 0 else {
            throw ExplorationError("exploration strength must be a finite number >= 0, got \(strength)")
        }
        switch name.lowercased() {
        case "greedy": self = .greedy
        case "thompson": self = .thompson(strength: strength)
        case "ucb", "upper-confidence": self = .upperConfidence(strength: strength)
        default:
            throw ExplorationError(
                "exploration '\(name)' is not a policy; expected one of \(Self.names.joined(separator: ", "))")
        }
    }

    public var strength: Double {
        switch self {
        case .greedy: 0
        case .thompson(let strength), .upperConfidence(let strength): strength
        }
    }

    public var description: String {
        switch self {
        case .greedy: "greedy"
        case .thompson(let strength): "thompson(\(Self.format(strength)))"
        case .upperConfidence(let strength): "ucb(\(Self.format(strength)))"
        }
    }

    private static func format(_ value: Double) -> String {
        // Int(value) traps past Int's range: only small whole numbers are written without a point.
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// The score each candidate is ranked by. Thompson draws one standard normal per candidate
    /// from `random`, whatever its strength, so a seed gives the same draws at every strength.
    public func scores(
        means: [Double], standardDeviations: [Double], using random: inout SeededGenerator
    ) -> [Double] {
        precondition(
            means.count == standardDeviations.count,
            "ExplorationPolicy.scores: \(means.count) means, \(standardDeviations.count) standard deviations")
        switch self {
        case .greedy:
            return means
        case .thompson(let strength):
            return zip(means, standardDeviations).map { mean, sd in
                mean + strength * sd * Double(random.normal())
            }
        case .upperConfidence(let strength):
            return zip(means, standardDeviations).map { $0 + strength * $1 }
        }
    }

    /// Candidate indices, best first (ties by index, so greedy is deterministic).
    public func ranking(
        means: [Double], standardDeviations: [Double], using random: inout SeededGenerator
    ) -> [Int] {
        let scores = scores(means: means, standardDeviations: standardDeviations, using: &random)
        return scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
    }
}

/// A bad setting or input of the exploration machinery, saying what was expected.
public struct ExplorationError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
