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
    public let configuration: RunConfiguration
    public let split: ProtocolSplit
    public let features: FeatureContext
    public let validation: [PreparedTask]
    /// Validation users meeting new items, each with their ratings on existing items as history:
    /// where choices about new items and known users are made (never on test tasks).
    public private(set) lazy var itemColdValidation: [PreparedTask] = {
        let histories = split.knownHistories()
        return Parallel.map(split.tasks(.itemColdValidation), workers: threads) { [features] in
            PreparedTask($0, features: features).withHistory(histories[$0.user], features: features)
        }
    }()
    public let objective: Objective
    /// When this experiment was set up: reports give the wall time since.
    public let started = Date()

    public var threads: Int { configuration.threads }
    /// The split seed.
    public var seed: UInt64 { configuration.splitSeed }
    /// The seed of every trainer's initialisation and sampling.
    public var initialisationSeed: UInt64 { configuration.effectiveInitialisationSeed }

    public init(dataset: Dataset, configuration: RunConfiguration = .standard) throws {
        self.dataset = dataset
        self.configuration = configuration
        split = try ProtocolSplit(dataset: dataset, options: configuration.split)
        features = FeatureContext(split)
        if case .implicit = dataset.feedback { objective = .click } else { objective = .rating }
        validation = Parallel.map(split.tasks(.validation), workers: configuration.threads) { [features] in
            PreparedTask($0, features: features)
        }
    }

    /// A run with the default configuration but for the split seed (which also seeds
    /// initialisation), the threads and the split options.
    public convenience init(dataset: Dataset, seed: UInt64, threads: Int = 2, splitOptions: SplitOptions? = nil) throws
    {
        var configuration = RunConfiguration.standard
        configuration.split = splitOptions ?? SplitOptions()
        configuration.split.seed = seed
        configuration.threads = threads
        try self.init(dataset: dataset, configuration: configuration)
    }

    /// The mean training rating (or click rate).
    public var globalMean: Float { GlobalMean(training: split.warmInteractions).mean }

    /// A model configuration for this data set: the output bias at the global mean (or its
    /// log-odds for clicks) and the data's objective.
    public func modelConfiguration(_ base: MeLUModel.Configuration? = nil) -> MeLUModel.Configuration {
        var configuration = base ?? self.configuration.model
        configuration.objective = objective
        let mean = globalMean
        configuration.outputBias = objective == .rating ? mean : Foundation.log(max(mean, 1e-3) / max(1 - mean, 1e-3))
        return configuration
    }

    public func model(_ configuration: MeLUModel.Configuration? = nil) -> MeLUModel {
        MeLUModel(
            configuration: modelConfiguration(configuration), users: FeatureSpace(split.userFeatures),
            items: FeatureSpace(split.itemFeatures))
    }

    /// The protocol's simple baselines: global, user and item means.
    public func baselines() -> [ColdStartPredictor] {
        let mean = globalMean
        return [
            GlobalMean(training: split.warmInteractions), UserMean(fallback: mean),
            ItemMean(training: split.warmInteractions),
        ]
    }

    /// An untrained meta-learner for this data set. Its seed and threads are the run's: they are
    /// set here, the one place a trainer's options meet the run configuration.
    /// - Parameters:
    ///   - options: the meta-training options; the configuration's when nil.
    ///   - initial: parameters to start meta-training from (for example a pretrained network's,
    ///     so that meta-learning refines an already good model); copied.
    public func makeMetaLearner(
        options: MetaTrainingOptions? = nil, model configuration: MeLUModel.Configuration? = nil,
        initial: ParameterSet? = nil
    ) -> MetaLearner {
        var options = options ?? self.configuration.metaTraining
        options.seed = initialisationSeed
        options.threads = threads
        options.startsFromPretrained = initial != nil
        return MetaLearner(model: model(configuration), options: options, parameters: initial?.copied())
    }

    /// Meta-trains `learner` on the warm users, selecting by the validation tasks, then chooses
    /// its steps and rate per support size on them (``SupportSizeSchedule``) and how known users
    /// start on item-cold validation.
    @discardableResult
    public func fit(_ learner: MetaLearner, phase: String = "meta-training", monitor: TrainingMonitor = .silent) throws
        -> TrainingOutcome
    {
        let outcome = try learner.fit(
            training: split.warmRatingsByUser(), validation: validation, features: features,
            monitor: monitor, phase: phase)
        selectSupportSchedule(for: learner)
        learner.knownHistorySelection = selectKnownHistory(network: learner) { learner.knownHistoryLatest = $0 }
        return outcome
    }

    public func trainMetaLearner(
        options: MetaTrainingOptions? = nil, model configuration: MeLUModel.Configuration? = nil,
        initial: ParameterSet? = nil,
        phase: String = "meta-training", monitor: TrainingMonitor = .silent
    ) throws -> MetaLearner {
        let learner = makeMetaLearner(options: options, model: configuration, initial: initial)
        try fit(learner, phase: phase, monitor: monitor)
        return learner
    }

    public func trainPretrained(
        options: PretrainedNetwork.Options? = nil, model configuration: MeLUModel.Configuration? = nil,
        phase: String = "pretrained network", monitor: TrainingMonitor = .silent
    ) throws -> PretrainedNetwork {
        var options = options ?? self.configuration.pretraining
        options.seed = initialisationSeed
        options.threads = threads
        let network = PretrainedNetwork(model: model(configuration), options: options)
        try network.fit(
            training: split.warmInteractions, validation: validation, features: features, monitor: monitor, phase: phase
        )
        return network
    }

    /// The pretrained network fine-tuned with the meta-learner's partition and number of steps;
    /// the learning rate is the candidate with the best validation score, and the steps and rate
    /// per support size are then chosen on validation users (``SupportSizeSchedule``).
    public func fineTuned(
        _ network: PretrainedNetwork, partition: ParameterPartition? = nil, steps: Int? = nil,
        rates: [Float]? = nil
    ) -> PretrainedNetwork {
        let rule = configuration.metaTraining.adaptation
        var best: (score: Double, network: PretrainedNetwork)?
        for rate in rates ?? configuration.fineTuningRates {
            let candidate = network.fineTuned(
                with: AdaptationRule(
                    partition: partition ?? rule.partition, steps: steps ?? rule.steps, learningRate: rate))
            let score = candidate.validationScore(validation)
            if best == nil || score < best!.score { best = (score, candidate) }
        }
        let chosen = best!.network
        chosen.fineTuning = chosen.fineTuning.map { scheduled($0, predict: chosen.predict(_:rule:)) }
        chosen.knownHistorySelection = selectKnownHistory(network: chosen) { chosen.knownHistoryLatest = $0 }
        return chosen
    }

    /// Scores each candidate use of known users' history (0: start from the prior) on item-cold
    /// validation (validation users meeting new items, their existing-item ratings as history) and
    /// leaves `method` at the best; nil when the split has no such task.
    func selectKnownHistory(
        _ method: ColdStartPredictor, candidates: [Double], unit: String, setting: (Double) -> Void
    ) -> KnownHistorySelection? {
        guard !itemColdValidation.isEmpty else { return nil }
        let scores = candidates.map { candidate -> Double in
            setting(candidate)
            return selectionScore(itemColdValidation, objective: objective, threads: threads) { method.predict($0) }
        }
        let selection = KnownHistorySelection(
            tasks: itemColdValidation.count, unit: unit, candidates: candidates, scores: scores)
        setting(selection.chosen)
        return selection
    }

    /// Chooses how many latest history ratings a network's adaptation starts from.
    func selectKnownHistory(network: ColdStartPredictor, setting: (Int?) -> Void) -> KnownHistorySelection? {
        selectKnownHistory(network, candidates: [0, 20, 50], unit: "latest history ratings in the support") {
            setting($0 > 0 ? Int($0) : nil)
        }
    }

    public func trainCovarianceHead(
        configuration: CovarianceHead.Configuration? = nil, monitor: TrainingMonitor = .silent
    ) throws -> CovarianceHead {
        var configuration = configuration ?? self.configuration.covariance
        configuration.seed = initialisationSeed
        configuration.threads = threads
        configuration.objective = objective
        configuration.initialBias = globalMean
        let head = CovarianceHead(
            configuration: configuration, users: FeatureSpace(split.userFeatures),
            items: FeatureSpace(split.itemFeatures), noiseVariance: 1)
        try head.fit(training: split.warmInteractions, validation: validation, features: features, monitor: monitor)
        head.knownHistorySelection = selectKnownHistory(
            head, candidates: [0, 0.1, 0.3, 1], unit: "weight of the history's likelihood"
        ) { head.knownHistoryWeight = $0 }
        return head
    }
}

/// A method that can start known users from their history, with the validation choice behind it.
public protocol KnownHistoryChoosing: ColdStartPredictor {
    var knownHistorySelection: KnownHistorySelection? { get }
}

extension CovarianceHead: KnownHistoryChoosing {}
extension MetaLearner: KnownHistoryChoosing {}
extension PretrainedNetwork: KnownHistoryChoosing {}

/// The item-cold validation scores (MAE, or 1 − GAUC for clicks) of each candidate use of known
/// users' history (0: they start from the prior), and the one chosen: the best, the smaller on a tie.
public struct KnownHistorySelection: Sendable, Codable, Equatable {
    public var tasks: Int
    /// What a candidate counts, e.g. "weight of the history's likelihood".
    public var unit: String
    public var candidates: [Double]
    public var scores: [Double]

    public var chosen: Double {
        zip(candidates, scores).filter { $0.1.isFinite }.min { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }?.0 ?? 0
    }

    public var summary: String {
        let pairs = zip(candidates, scores).map { String(format: "%g: %.4f", $0, $1) }.joined(separator: ", ")
        return "\(unit), item-cold validation (\(tasks) tasks): \(pairs); chose \(String(format: "%g", chosen))"
    }
}
