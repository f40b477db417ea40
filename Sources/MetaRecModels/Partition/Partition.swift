import Foundation

/// Which parameters adapt to each user and which are shared by all: a named partition of a
/// model's parameters, as in "Learning to Recommend via Meta Parameter Partition" (Zhao et al.,
/// arXiv 1912.04108). MeLU (Lee et al., KDD 2019) adapts the decision layers only.
public enum ParameterPartition: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Every parameter adapts.
    case all
    /// The MLP above the embeddings (MeLU's choice).
    case decisionLayers
    /// The output layer only.
    case lastLayer
    /// The per-unit scale and shift of the hidden layers (a model built with `modulation`):
    /// a few hundred numbers per user.
    case modulation
    /// The parameters whose names start with one of these prefixes.
    case named([String])

    /// Parses "all", "decision-layers", "last-layer", or a comma-separated list of name prefixes.
    public init(parsing text: String) {
        switch text {
        case "all": self = .all
        case "decision-layers", "decision": self = .decisionLayers
        case "last-layer", "last": self = .lastLayer
        case "modulation": self = .modulation
        default: self = .named(text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        }
    }

    public var description: String {
        switch self {
        case .all: return "all"
        case .decisionLayers: return "decision-layers"
        case .lastLayer: return "last-layer"
        case .modulation: return "modulation"
        case .named(let prefixes): return prefixes.joined(separator: ",")
        }
    }

    /// Whether the parameter called `name` adapts.
    public func adapts(_ name: String) -> Bool {
        switch self {
        case .all: return true
        case .decisionLayers:
            return name.hasPrefix(ParameterName.Prefix.decision) || name.hasPrefix(ParameterName.Prefix.output)
                || name.hasPrefix(ParameterName.Prefix.modulation)
        case .lastLayer: return name.hasPrefix(ParameterName.Prefix.output)
        case .modulation: return name.hasPrefix(ParameterName.Prefix.modulation)
        case .named(let prefixes): return prefixes.contains { name.hasPrefix($0) }
        }
    }

    /// The adaptive names among `names`, in order.
    public func adaptive(_ names: [String]) -> [String] { names.filter(adapts) }
}
