/// The names of the networks' parameters, in one place. A name is its role's path, such as
/// `decision.0.weight`; partitions select parameters by these prefixes and checkpoints store
/// them under these names, so they are part of the file format.
public enum ParameterName {
    /// Which side of the interaction a feature belongs to.
    public enum Side: String, Sendable, CaseIterable {
        case user, item
    }

    /// A categorical field's embedding table, or a dense field's projection.
    public static func field(_ side: Side, _ field: String, embedded: Bool) -> String {
        "\(side.rawValue).\(field).\(embedded ? "embedding" : "projection")"
    }

    /// The learned embedding of each item's id (zero for items training never saw).
    public static let itemIDEmbedding = "item.id.embedding"
    /// The learned embedding of each training user's id (known users in item-cold; zero for new users).
    public static let userIDEmbedding = "user.id.embedding"

    public static func decisionWeight(_ layer: Int) -> String { "decision.\(layer).weight" }
    public static func decisionBias(_ layer: Int) -> String { "decision.\(layer).bias" }
    public static func modulationScale(_ layer: Int) -> String { "modulation.\(layer).scale" }
    public static func modulationShift(_ layer: Int) -> String { "modulation.\(layer).shift" }
    public static let outputWeight = "output.weight"
    public static let outputBias = "output.bias"

    /// The prefixes of each group of parameters.
    public enum Prefix {
        public static let user = "user."
        public static let item = "item."
        public static let decision = "decision."
        public static let output = "output."
        public static let modulation = "modulation."
        /// Every root a parameter name starts with.
        public static let all = [user, item, decision, output, modulation]
    }

    // The covariance head's own parameters.
    public static let towerWeight = "tower.weight"
    public static let towerBias = "tower.bias"
    public static let priorWeight = "prior.weight"
    public static let priorBias = "prior.bias"
    public static let userOffset = "user.offset"
}
