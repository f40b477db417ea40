import Foundation
import MetaRecCore
import MetaRecData

/// The methods a model bundle can hold.
public enum BundleMethod: String, CaseIterable, Sendable, Codable {
    case maml
    case firstOrderMAML = "fomaml"
    case metaSGD = "meta-sgd"
    case covariance, pretrained
    case tanp
}

/// Where a long job reports its phases: a command line renders them (a bar on a terminal, a line
/// per phase elsewhere); a service logs them; a test ignores them.
public protocol TrainingPhases {
    var monitor: TrainingMonitor { get }
    /// Runs one named phase (reading, a trainer, the generator).
    func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T
}

/// No output, never interrupted.
public struct SilentPhases: TrainingPhases {
    public init() {}
    public var monitor: TrainingMonitor { .silent }
    public func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T { try body() }
}

/// One call that trains a method on an experiment's warm users, with its model selection on
/// validation users, and returns the stand-alone bundle `recommend`, `serve` and `publish` read:
/// the recipe `metarec train` runs, and `metarec serve` when it trains its fallback model.
///
/// ```swift
/// let recipe = BundleRecipe(method: .maml, metaTraining: configuration.metaTraining)
/// let bundle = try recipe.train(experiment, data: description)
/// try bundle.write(to: url)
/// ```
public struct BundleRecipe: Sendable {
    public var method: BundleMethod
    /// The meta-learners' options; the method sets the gradient order and whether inner rates are learned.
    public var metaTraining: MetaTrainingOptions
    /// Start meta-training from the pretrained network (MeLU's recipe), taking its fine-tuning
    /// rate, chosen on validation users, as the inner rate unless `innerRateIsFixed`.
    public var fromPretrained = false
    /// The inner learning rate was given by the user: keep it.
    public var innerRateIsFixed = false
    /// Train the meta-embedding generator for new items (Pan et al., SIGIR 2019) when the model
    /// has item-id embeddings and items have features.
    public var newItemGenerator = true
    public var tanp = TaNP.Configuration()
    /// Training users a meta-learner's bundle keeps for the live learner's replay (``ModelBundle/ReplayUsers``).
    public var replayUsers = ModelBundle.ReplayUsers.defaultCount

    public init(method: BundleMethod, metaTraining: MetaTrainingOptions) {
        self.method = method
        self.metaTraining = metaTraining
    }

    /// Trains the method and its extras.
    /// - Parameters:
    ///   - onBest: called with the bundle of the best state so far each time a meta-learner's
    ///     validation score improves, so a caller can checkpoint it (Ctrl-C then keeps it).
    ///   - note: a remark for the user (why the generator was left out, say).
    public func train(
        _ experiment: Experiment, data: ModelArchive.DataDescription, phases: some TrainingPhases = SilentPhases(),
        onBest: (ModelBundle) -> Void = { _ in }, note: (String) -> Void = { _ in }
    ) throws -> ModelBundle {
        func bundle(_ archive: ModelArchive, generator: MetaEmbeddingGenerator? = nil) -> ModelBundle {
            ModelBundle(archive: archive, experiment: experiment, generator: generator, replayUsers: replayUsers)
        }
        switch method {
        case .maml, .firstOrderMAML, .metaSGD:
            var initial: ParameterSet?
            var options = metaTraining
            options.order = method == .firstOrderMAML ? .first : .second
            options.learnsInnerRates = method == .metaSGD
            if fromPretrained {
                let network = try phases.phase("pretrained network") {
                    try experiment.trainPretrained(monitor: phases.monitor)
                }
                guard !phases.monitor.isInterrupted() else {
                    throw TrainingInterrupted(during: "the pretrained network")
                }
                initial = network.parameters
                if !innerRateIsFixed, let rate = experiment.fineTuned(network).fineTuning?.learningRate {
                    options.adaptation.learningRate = rate
                }
            }
            let learner = experiment.makeMetaLearner(options: options, initial: initial)
            try withoutActuallyEscaping(onBest) { onBest in
                var monitor = phases.monitor
                let report = monitor.report
                monitor.report = { progress in
                    report(progress)
                    // The live parameters are the best so far exactly when a new best is reported.
                    if progress.isNewBest { onBest(bundle(ModelArchive(learner, data: data))) }
                }
                try phases.phase(method.rawValue) {
                    _ = try experiment.fit(learner, phase: method.rawValue, monitor: monitor)
                }
            }
            let generator = generatorIfUseful(learner.model, learner.parameters, experiment, phases, note)
            return bundle(ModelArchive(learner, data: data), generator: generator)
        case .pretrained:
            let network = try phases.phase("pretrained network") {
                try experiment.trainPretrained(monitor: phases.monitor)
            }
            let generator = generatorIfUseful(network.model, network.parameters, experiment, phases, note)
            return bundle(ModelArchive(experiment.fineTuned(network), data: data), generator: generator)
        case .covariance:
            let head = try phases.phase("covariance head") {
                try experiment.trainCovarianceHead(monitor: phases.monitor)
            }
            // Ψ, so that items added while serving get an item posterior (Docs/exploration.md).
            let newItemPrior = try phases.phase("new-item prior") {
                try head.newItemPrior(
                    training: experiment.split.warmInteractions,
                    users: head.userWeights(training: experiment.split.warmInteractions, features: experiment.features),
                    features: experiment.features)
            }
            return bundle(ModelArchive(head, data: data, newItemPrior: newItemPrior))
        case .tanp:
            // Selected on validation users between with and without item-id embeddings; new
            // items get a zero id embedding (the meta-embedding generator is MeLU's).
            let tanp = try phases.phase("TaNP") {
                try experiment.trainTaNP(configuration: self.tanp, monitor: phases.monitor)
            }
            return bundle(ModelArchive(tanp, data: data))
        }
    }

    /// The meta-embedding generator for new items, trained on the warm items with the trained
    /// model frozen; nil when turned off, useless (no id embeddings or no item features), or
    /// impossible here.
    private func generatorIfUseful(
        _ network: MeLUModel, _ parameters: ParameterSet, _ experiment: Experiment, _ phases: some TrainingPhases,
        _ note: (String) -> Void
    ) -> MetaEmbeddingGenerator? {
        guard newItemGenerator, !phases.monitor.isInterrupted(), network.configuration.itemIDEmbedding,
            !network.items.fields.isEmpty
        else { return nil }
        do {
            // The inner rate is selected on held-out warm items, as `evaluate --item-warmup` does.
            return try withoutActuallyEscaping(note) { note in
                try phases.phase("meta-embedding generator") {
                    try experiment.trainMetaEmbedding(
                        model: network, parameters: parameters, monitor: phases.monitor, log: note)
                }
            }
        } catch {
            note("no meta-embedding generator (new items get a zero id embedding): \(error)")
            return nil
        }
    }
}

extension BundleRecipe {
    /// The model `metarec serve` trains when it is given none: MAML adapting only the per-unit
    /// scale and shift of the hidden layers (a few hundred numbers per user, the meta parameter
    /// partition's adaptive part) on the built-in synthetic data, 8 epochs, with its generator.
    public static func serviceFallback(phases: some TrainingPhases = SilentPhases(), note: (String) -> Void = { _ in })
        throws -> ModelBundle
    {
        let dataset = try DataSource.synthetic(DataSource.SyntheticSize()).load()
        var configuration = RunConfiguration.standard
        configuration.model.modulation = true
        configuration.metaTraining.adaptation.partition = .modulation
        configuration.setEpochs(8, patience: configuration.metaTraining.patience)
        let experiment = try Experiment(dataset: dataset, configuration: configuration)
        let description = ModelArchive.DataDescription(
            name: dataset.name, source: "synthetic", seed: configuration.split.seed, implicitThreshold: nil)
        return try BundleRecipe(method: .maml, metaTraining: configuration.metaTraining)
            .train(experiment, data: description, phases: phases, note: note)
    }
}

/// A recipe stopped by its monitor (Ctrl-C) between phases.
public struct TrainingInterrupted: Error, CustomStringConvertible, Sendable {
    public var during: String
    public init(during: String) { self.during = during }
    public var description: String { "interrupted during \(during)" }
}
