import Foundation
import MetaRecCore
import MetaRecData

/// One data set under the protocol: its split, encoded features and validation tasks, and the
/// training of every method on the warm data only, with model selection on validation users.
/// Evaluation on the test scenarios is `report(for:)` in MetaRecEvaluation. The command-line
/// tool's `train`, `evaluate` and `demo` are thin layers over this type.
///
/// ```swift
/// let experiment = try Experiment(dataset: BuiltInData.synthetic().dataset, seed: 0)
/// let maml = experiment.trainMetaLearner(options: MetaTrainingOptions())
/// print(experiment.report(for: experiment.baselines() + [maml]).markdown())
/// ```
public final class Experiment: @unchecked Sendable {
    public let dataset: Dataset
    public let split: ProtocolSplit
    public let features: FeatureContext
    public let validation: [PreparedTask]
    public let objective: Objective
    public let threads: Int
    public let seed: UInt64
    /// When this experiment was set up: reports give the wall time since.
    public let started = Date()

    public init(dataset: Dataset, seed: UInt64 = 0, threads: Int = 2, splitOptions: SplitOptions? = nil) throws {
        self.dataset = dataset
        self.seed = seed
        self.threads = threads
        var options = splitOptions ?? SplitOptions()
        options.seed = seed
        split = try ProtocolSplit(dataset: dataset, options: options)
        features = FeatureContext(split)
        if case .implicit = dataset.feedback { objective = .click } else { objective = .rating }
        validation = Parallel.map(split.tasks(.validation), workers: threads) { [features] in PreparedTask($0, features: features) }
    }

    /// The mean training rating (or click rate).
    public var globalMean: Float { GlobalMean(training: split.warmInteractions).mean }

    /// A model configuration for this data set: MeLU's sizes, the output bias at the global mean
    /// (or its log-odds for clicks).
    public func modelConfiguration(_ base: MeLUModel.Configuration = .init()) -> MeLUModel.Configuration {
        var configuration = base
        configuration.objective = objective
        let mean = globalMean
        configuration.outputBias = objective == .rating ? mean : Foundation.log(max(mean, 1e-3) / max(1 - mean, 1e-3))
        return configuration
    }

    public func model(_ configuration: MeLUModel.Configuration) -> MeLUModel {
        MeLUModel(configuration: modelConfiguration(configuration), users: FeatureSpace(split.userFeatures),
                  items: FeatureSpace(split.itemFeatures))
    }

    /// The protocol's simple baselines: global, user and item means.
    public func baselines() -> [ColdStartPredictor] {
        let mean = globalMean
        return [GlobalMean(training: split.warmInteractions), UserMean(fallback: mean), ItemMean(training: split.warmInteractions)]
    }

    /// An untrained meta-learner for this data set (seeded, threads set).
    /// - Parameter initial: parameters to start meta-training from (for example a pretrained
    ///   network's, so that meta-learning refines an already good model); copied.
    public func makeMetaLearner(
        options: MetaTrainingOptions, model configuration: MeLUModel.Configuration = .init(), initial: ParameterSet? = nil
    ) -> MetaLearner {
        var options = options
        options.seed = seed
        options.threads = threads
        options.startsFromPretrained = initial != nil
        return MetaLearner(model: model(configuration), options: options, parameters: initial?.copied())
    }

    /// Meta-trains `learner` on the warm users, selecting by the validation tasks.
    public func fit(_ learner: MetaLearner, progress: ((TrainingProgress) -> Void)? = nil, shouldStop: () -> Bool = { false }) {
        learner.fit(training: split.warmRatingsByUser(), validation: validation, features: features,
                    progress: progress, shouldStop: shouldStop)
    }

    public func trainMetaLearner(
        options: MetaTrainingOptions, model configuration: MeLUModel.Configuration = .init(), initial: ParameterSet? = nil,
        progress: ((TrainingProgress) -> Void)? = nil, shouldStop: () -> Bool = { false }
    ) -> MetaLearner {
        let learner = makeMetaLearner(options: options, model: configuration, initial: initial)
        fit(learner, progress: progress, shouldStop: shouldStop)
        return learner
    }

    public func trainPretrained(
        options: PretrainedNetwork.Options = .init(), model configuration: MeLUModel.Configuration = .init(),
        progress: ((TrainingProgress) -> Void)? = nil
    ) -> PretrainedNetwork {
        var options = options
        options.seed = seed
        options.threads = threads
        let network = PretrainedNetwork(model: model(configuration), options: options)
        network.fit(training: split.warmInteractions, validation: validation, features: features, progress: progress)
        return network
    }

    /// The pretrained network fine-tuned with the meta-learner's partition and number of steps;
    /// the learning rate is the one of `rates` with the best validation score.
    public func fineTuned(_ network: PretrainedNetwork, partition: ParameterPartition, steps: Int,
                          rates: [Float] = [0.003, 0.01, 0.03, 0.1, 0.3]) -> PretrainedNetwork {
        var best: (score: Double, network: PretrainedNetwork)?
        for rate in rates {
            let candidate = network.fineTuned(with: AdaptationRule(partition: partition, steps: steps, learningRate: rate))
            let score = candidate.validationScore(validation)
            if best == nil || score < best!.score { best = (score, candidate) }
        }
        return best!.network
    }

    public func trainCovarianceHead(
        configuration: CovarianceHead.Configuration = .init(), progress: ((TrainingProgress) -> Void)? = nil
    ) -> CovarianceHead {
        var configuration = configuration
        configuration.seed = seed
        configuration.threads = threads
        configuration.objective = objective
        configuration.initialBias = globalMean
        let head = CovarianceHead(configuration: configuration, users: FeatureSpace(split.userFeatures),
                                  items: FeatureSpace(split.itemFeatures), noiseVariance: 1)
        head.fit(training: split.warmInteractions, validation: validation, features: features, progress: progress)
        return head
    }
}
