import MetaRecCore
import MetaRecData

/// How a user's adaptive parameters are fitted to their support set: which parameters, how
/// many plain gradient steps, and how large.
public struct AdaptationRule: Sendable, Codable, Equatable {
    public var partition: ParameterPartition
    public var steps: Int
    public var learningRate: Float

    public init(partition: ParameterPartition = .decisionLayers, steps: Int = 5, learningRate: Float = 0.05) {
        self.partition = partition
        self.steps = steps
        self.learningRate = learningRate
    }
}

extension MeLUModel {
    /// Fast weights after `rule.steps` gradient steps on the task's support rows (the inner
    /// loop of MAML, Finn et al. 2017).
    ///
    /// - Parameters:
    ///   - rates: learned per-parameter inner learning rates by adaptive name (Meta-SGD, Li et
    ///     al., arXiv 1707.09835); `rule.learningRate` where absent.
    ///   - createGraph: keep the steps differentiable, for the exact second-order meta-gradient.
    public func adapt(
        _ parameters: ParameterSet, to task: PreparedTask, rule: AdaptationRule,
        rates: [String: Tensor] = [:], createGraph: Bool
    ) -> ParameterSet {
        let names = rule.partition.adaptive(parameters.names)
        guard rule.steps > 0, task.supportCount > 0, !names.isEmpty else { return parameters }
        // When only decision layers adapt, the support representation is the same at every step.
        let sharedRepresentation =
            names.allSatisfy(Self.isDecisionLayer)
            ? representation(user: task.userBatch, items: task.supportItems, parameters: parameters) : nil
        var fast = parameters
        for _ in 0..<rule.steps {
            let outputs =
                sharedRepresentation.map { decide($0, parameters: fast) }
                ?? predict(user: task.userBatch, items: task.supportItems, parameters: fast)
            let stepGradients = gradients(
                of: loss(outputs, task.supportTargets), withRespectTo: fast.tensors(names), createGraph: createGraph)
            var updated: [String: Tensor] = [:]
            for (name, gradient) in zip(names, stepGradients) {
                let rate = rates[name]
                updated[name] = fast.tensor(name) - (rate.map { gradient * $0 } ?? gradient * rule.learningRate)
            }
            fast = fast.replacing(updated)
        }
        return fast
    }

    /// Adapts for prediction only: no meta-gradient is wanted, so the shared parameters are cut
    /// from the graph and each step's update is not recorded.
    public func adaptForInference(
        _ parameters: ParameterSet, to task: PreparedTask, rule: AdaptationRule, rates: [String: Tensor] = [:]
    ) -> ParameterSet {
        let names = Set(rule.partition.adaptive(parameters.names))
        guard rule.steps > 0, task.supportCount > 0, !names.isEmpty else { return parameters }
        let leaves = ParameterSet(
            parameters.names.map { name in
                let tensor = parameters.tensor(name)
                return (name, names.contains(name) ? tensor.asParameter() : tensor.detached())
            })
        let fixedRates = rates.mapValues { $0.detached() }
        let fast = adapt(leaves, to: task, rule: rule, rates: fixedRates, createGraph: false)
        return ParameterSet(fast.names.map { ($0, fast.tensor($0).detached()) })
    }

    /// Predicted scores (ratings, or click probabilities) for the query rows.
    public func scoreQuery(_ task: PreparedTask, parameters: ParameterSet) -> [Float] {
        GradientMode.withoutRecording {
            score(predict(user: task.userBatch, items: task.queryItems, parameters: parameters).denseValues)
        }
    }

    static func isDecisionLayer(_ name: String) -> Bool {
        name.hasPrefix(ParameterName.Prefix.decision) || name.hasPrefix(ParameterName.Prefix.output)
            || name.hasPrefix(ParameterName.Prefix.modulation)
    }
}
