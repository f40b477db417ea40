import MetaRecCore
import MetaRecData

/// How a user's adaptive parameters are fitted to their support set: which parameters, how
/// many plain gradient steps, and how large; and, when `supportSchedule` is set, how many steps
/// and how large a rate for each support size at prediction time (few-shot first, issue 14).
public struct AdaptationRule: Sendable, Codable, Equatable {
    public var partition: ParameterPartition
    public var steps: Int
    public var learningRate: Float
    /// Steps and rate per support-size band, chosen on validation users after training; nil
    /// (as in archives written before it existed) adapts every support with `steps` and
    /// `learningRate`. Meta-training's inner loop does not read it.
    public var supportSchedule: SupportSizeSchedule?

    public init(
        partition: ParameterPartition = .decisionLayers, steps: Int = 5, learningRate: Float = 0.05,
        supportSchedule: SupportSizeSchedule? = nil
    ) {
        self.partition = partition
        self.steps = steps
        self.learningRate = learningRate
        self.supportSchedule = supportSchedule
    }

    /// The plain rule for a support of `size` ratings, and the factor that also scales learned
    /// per-parameter rates (Meta-SGD): the schedule's band for that size, else this rule as it is.
    public func resolved(forSupportSize size: Int) -> (rule: AdaptationRule, rateScale: Float) {
        guard let band = supportSchedule?.band(forSupportSize: size) else {
            return (AdaptationRule(partition: partition, steps: steps, learningRate: learningRate), 1)
        }
        return (
            AdaptationRule(partition: partition, steps: band.steps, learningRate: learningRate * band.rateScale),
            band.rateScale
        )
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
    /// from the graph and each step's update is not recorded. The rule's support schedule, when
    /// it has one, sets the steps and scales the rates for this task's support size.
    public func adaptForInference(
        _ parameters: ParameterSet, to task: PreparedTask, rule scheduled: AdaptationRule,
        rates: [String: Tensor] = [:]
    ) -> ParameterSet {
        let (rule, rateScale) = scheduled.resolved(forSupportSize: task.supportCount)
        let names = Set(rule.partition.adaptive(parameters.names))
        guard rule.steps > 0, task.supportCount > 0, !names.isEmpty else { return parameters }
        let leaves = ParameterSet(
            parameters.names.map { name in
                let tensor = parameters.tensor(name)
                return (name, names.contains(name) ? tensor.asParameter() : tensor.detached())
            })
        let fixedRates = rates.mapValues { rateScale == 1 ? $0.detached() : $0.detached() * rateScale }
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
