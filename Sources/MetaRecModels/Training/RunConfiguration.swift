import MetaRecCore
import MetaRecData

/// Everything one run is configured by, in one value with its defaults defined once: the split
/// (with its seed), the seed of every trainer's initialisation and sampling, the threads, the
/// model and each trainer's options. The command-line tool's defaults are these.
///
/// The split seed decides which users are existing, validation and new; the initialisation seed
/// decides the starting weights and the order of training. They are separate so that a model can
/// be retrained with another initialisation on the same split (or the reverse); by default the
/// initialisation seed is the split seed. Both are recorded in reports and models.
///
/// ```swift
/// var configuration = RunConfiguration()
/// configuration.split.seed = 1
/// let experiment = try Experiment(dataset: dataset, configuration: configuration)
/// ```
public struct RunConfiguration: Sendable, Equatable {
    public var split = SplitOptions()
    /// Seeds initialisation and sampling; nil means the split seed.
    public var initialisationSeed: UInt64?
    /// Threads for the tasks of a meta-batch, the validation and the evaluation.
    public var threads = 2
    /// The network: MeLU's sizes, with the item-id embedding.
    public var model = MeLUModel.Configuration(itemIDEmbedding: true)
    /// Meta-training (MAML, first-order MAML, Meta-SGD); its adaptation rule is also the
    /// fine-tuned baseline's partition and number of steps.
    public var metaTraining: MetaTrainingOptions = {
        var options = MetaTrainingOptions()
        options.patience = 6
        return options
    }()
    /// The pretrained network: the protocol's baseline and, optionally, the meta-learners' start.
    public var pretraining = PretrainedNetwork.Options()
    public var covariance = CovarianceHead.Configuration()
    /// Candidate fine-tuning rates of the fine-tuned baseline, one chosen on validation users.
    public var fineTuningRates: [Float] = [0.003, 0.01, 0.03, 0.1, 0.3]
    /// Whether the gradient methods' steps and rate per support size are chosen on validation
    /// users after training (``SupportSizeSchedule``); off, every support adapts alike.
    public var selectsSupportSchedule = true

    public init() {}

    /// The defaults.
    public static let standard = RunConfiguration()

    public var splitSeed: UInt64 { split.seed }

    /// The seed in force for initialisation and sampling.
    public var effectiveInitialisationSeed: UInt64 { initialisationSeed ?? split.seed }

    /// Sets the meta-learners' epoch budget and patience; the pretrained network gets at most
    /// its own defaults of each (it converges in fewer epochs).
    public mutating func setEpochs(_ epochs: Int, patience: Int) {
        metaTraining.maxEpochs = epochs
        metaTraining.patience = patience
        pretraining.maxEpochs = min(epochs, Self.standard.pretraining.maxEpochs)
        pretraining.patience = min(patience, Self.standard.pretraining.patience)
    }
}
