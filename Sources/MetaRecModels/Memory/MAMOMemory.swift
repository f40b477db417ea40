import Foundation
import MetaRecCore

/// MAMO's three memories (Dong et al., "MAMO: Memory-Augmented Meta-Optimization for Cold-start
/// Recommendation", KDD 2020, section 4), each with `slots` rows (the paper's K):
///
/// - the profile memory M_P, `[slots, profileWidth]`, which a user's profile is compared with
///   (cosine similarity, then a softmax) to give the attention a_u over the slots;
/// - the feature-specific bias memory M_U, one `[slots, count]` block per user-embedding
///   parameter, read as b_u = a_uᵀ M_U to personalise the user's starting embedding,
///   θ_u = θ_U − τ·b_u;
/// - the task-specific memory M_{U,I}, `[slots, count]` of the preference layer (the first
///   decision layer, which reads the user and item embeddings together), read as a_uᵀ M_{U,I}.
///
/// The memories are not trained by gradients: they are written after each training task with
/// the paper's rules, M ← rate·(a_u ⊗ value) + (1 − rate)·M. Only the attention a_u is
/// differentiable (through the profile), so the meta-gradient reaches the shared embeddings
/// that make the profile.
public struct MAMOMemory: Sendable, Equatable {
    public let slots: Int
    public let profileWidth: Int
    /// M_P, row-major `[slots, profileWidth]`.
    public internal(set) var profiles: [Float]
    /// M_U by user-embedding parameter name, each row-major `[slots, parameter count]`.
    public internal(set) var biases: [String: [Float]]
    /// The shapes of the parameters of `biases`.
    public let biasShapes: [String: [Int]]
    /// M_{U,I}, row-major `[slots, preference count]`.
    public internal(set) var preferences: [Float]
    public let preferenceShape: [Int]

    /// What one training task writes: its attention, profile and the values its adaptation gave.
    public struct Write: Sendable {
        public var attention: [Float]
        public var profile: [Float]
        /// The support loss's gradient with respect to each user-embedding parameter.
        public var biasGradients: [String: [Float]]?
        /// The adapted preference layer minus the shared one.
        public var preferenceOffset: [Float]?
    }

    /// Memories for a profile of `profileWidth` numbers, the user-embedding parameters of
    /// `biasShapes`, and a preference layer of `preferenceShape`. As in the paper, M_P and M_U
    /// start at random (N(0, 1) and N(0, 0.05²)); M_{U,I} starts at zero, so a new model's
    /// preference layer is the shared one.
    public init(
        slots: Int, profileWidth: Int, biasShapes: [String: [Int]], preferenceShape: [Int],
        using random: inout SeededGenerator
    ) {
        precondition(slots > 0, "MAMOMemory: at least one slot")
        self.slots = slots
        self.profileWidth = profileWidth
        self.biasShapes = biasShapes
        self.preferenceShape = preferenceShape
        profiles = (0..<(slots * profileWidth)).map { _ in random.normal(mean: 0, standardDeviation: 1) }
        var biases: [String: [Float]] = [:]
        for name in biasShapes.keys.sorted() {
            let count = biasShapes[name]!.reduce(1, *)
            biases[name] = (0..<(slots * count)).map { _ in random.normal(mean: 0, standardDeviation: 0.05) }
        }
        self.biases = biases
        preferences = .init(repeating: 0, count: slots * preferenceShape.reduce(1, *))
    }

    // MARK: - Reading

    /// The attention a_u over the slots, `[1, slots]`: a softmax of the cosine similarity of
    /// `profile` (`[1, profileWidth]`) with each row of M_P, differentiable in `profile`.
    public func attention(_ profile: Tensor) -> Tensor {
        precondition(
            profile.shape == [1, profileWidth],
            "MAMOMemory.attention: profile \(profile.shape), want [1, \(profileWidth)]")
        // Rows of M_P scaled to unit length, as columns: profile × this = p · m̂_k.
        var unitColumns = [Float](repeating: 0, count: profileWidth * slots)
        for slot in 0..<slots {
            let row = profiles[(slot * profileWidth)..<((slot + 1) * profileWidth)]
            let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-8)
            for (column, value) in row.enumerated() { unitColumns[column * slots + slot] = value / norm }
        }
        let dots = matmul(profile, Tensor(shape: [profileWidth, slots], values: unitColumns))
        let norm = exp(log((profile * profile).sum() + 1e-12) * 0.5)
        let weights = exp(dots / norm)
        return weights / weights.sum()
    }

    /// The attention-weighted sum of the rows of `memory` (`[slots, product of shape]`), shaped `shape`.
    func read(_ memory: [Float], shape: [Int], attention: Tensor) -> Tensor {
        let count = shape.reduce(1, *)
        return matmul(attention, Tensor(shape: [slots, count], values: memory)).reshaped(shape)
    }

    /// b_u: the personalised bias of the user-embedding parameter `name`.
    public func bias(_ name: String, attention: Tensor) -> Tensor {
        read(biases[name]!, shape: biasShapes[name]!, attention: attention)
    }

    /// The personalised offset of the preference layer, a_uᵀ M_{U,I}.
    public func preferenceOffset(attention: Tensor) -> Tensor {
        read(preferences, shape: preferenceShape, attention: attention)
    }

    // MARK: - Writing

    /// The paper's write M ← rate·(a ⊗ value) + (1 − rate)·M on a `[slots, value.count]` memory.
    static func blend(_ memory: inout [Float], attention: [Float], value: [Float], rate: Float) {
        let width = value.count
        precondition(memory.count == attention.count * width, "MAMOMemory: a write of the wrong size")
        for slot in attention.indices {
            let weight = rate * attention[slot]
            for column in 0..<width {
                let index = slot * width + column
                memory[index] = (1 - rate) * memory[index] + weight * value[column]
            }
        }
    }

    /// Applies one task's write with the profile (α), bias (β) and preference (γ) rates.
    public mutating func write(_ write: Write, profileRate: Float, biasRate: Float, preferenceRate: Float) {
        Self.blend(&profiles, attention: write.attention, value: write.profile, rate: profileRate)
        if let gradients = write.biasGradients {
            for (name, gradient) in gradients {
                Self.blend(&biases[name]!, attention: write.attention, value: gradient, rate: biasRate)
            }
        }
        if let offset = write.preferenceOffset {
            Self.blend(&preferences, attention: write.attention, value: offset, rate: preferenceRate)
        }
    }
}
