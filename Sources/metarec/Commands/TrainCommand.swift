import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

/// `metarec train`: fits one method on the warm users of a data set and saves it.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a method on the warm users of a data set and save it as a safetensors checkpoint.",
        discussion: """
            The checkpoint is rewritten atomically whenever the validation score improves, so \
            Ctrl-C (or a crash) leaves the last good model in place.

            Example:
              metarec train --data ml-100k --method maml --out maml.safetensors
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments
    @OptionGroup var model: ModelArguments

    @Option(
        help:
            "maml (exact second order), fomaml (first order), meta-sgd, covariance, pretrained, or tanp (task-adaptive neural process)."
    )
    var method: MethodArgument = .maml

    @Option(help: "Where to write the checkpoint.")
    var out: String = "model.safetensors"

    @Flag(help: "One line per phase with its duration, no progress.")
    var quiet = false

    @Flag(
        inversion: .prefixedNo,
        help:
            "Train the meta-embedding generator that ranks new items from their features (when the model has item-id embeddings and items have features)."
    )
    var itemGenerator = true

    func validate() throws {
        try OptionChecks.outputFile(out, "--out")
    }

    func run() throws {
        let url = URL(fileURLWithPath: out)
        // A second writer of the same file fails at once instead of both saying "wrote".
        let lock = try FileLock(exclusiveFor: url)
        defer { lock.release() }
        let reporter = ProgressReporter(verbosity: quiet ? .quiet : .normal)
        let dataset = try reporter.phase("reading \(data.data)") { try data.loadForTraining() }
        let configuration = model.configuration(split: split.options)
        let experiment = try Experiment(dataset: dataset, configuration: configuration)
        let description = ModelArchive.DataDescription(
            name: dataset.name, source: data.data, seed: split.seed, implicitThreshold: data.implicitThreshold)
        var saveError: Error?
        // A bundle stands alone: encoders, catalogue and provenance beside the parameters.
        func save(_ archive: @autoclosure () -> ModelArchive, generator: MetaEmbeddingGenerator? = nil) {
            do {
                try ModelBundle(archive: archive(), experiment: experiment, generator: generator).write(to: url)
            } catch { saveError = error }
        }

        switch method {
        case .maml, .firstOrderMAML, .metaSGD:
            var initial: ParameterSet?
            var chosenRate: Float?
            if model.fromPretrained {
                let network = try reporter.phase("pretrained network") {
                    try experiment.trainPretrained(monitor: reporter.monitor)
                }
                try Interruption.check("the pretrained network")
                initial = network.parameters
                chosenRate = experiment.fineTuned(network).fineTuning?.learningRate
            }
            let options = model.metaOptions(
                configuration, order: method == .firstOrderMAML ? .first : .second, learnsRates: method == .metaSGD,
                chosenRate: chosenRate)
            let learner = experiment.makeMetaLearner(options: options, initial: initial)
            var monitor = reporter.monitor
            let report = monitor.report
            monitor.report = { progress in
                report(progress)
                // The live parameters are the best so far exactly when a new best is reported.
                if progress.isNewBest { save(ModelArchive(learner, data: description)) }
            }
            try reporter.phase(method.rawValue) {
                _ = try experiment.fit(learner, phase: method.rawValue, monitor: monitor)
            }
            save(
                ModelArchive(learner, data: description),
                generator: newItemGenerator(learner.model, learner.parameters, experiment, reporter))
        case .pretrained:
            let network = try reporter.phase("pretrained network") {
                try experiment.trainPretrained(monitor: reporter.monitor)
            }
            save(
                ModelArchive(experiment.fineTuned(network), data: description),
                generator: newItemGenerator(network.model, network.parameters, experiment, reporter))
        case .covariance:
            let head = try reporter.phase("covariance head") {
                try experiment.trainCovarianceHead(monitor: reporter.monitor)
            }
            // Ψ, so that items added while serving get an item posterior (Docs/exploration.md).
            let newItemPrior = try reporter.phase("new-item prior") {
                try head.newItemPrior(
                    training: experiment.split.warmInteractions,
                    users: head.userWeights(training: experiment.split.warmInteractions, features: experiment.features),
                    features: experiment.features)
            }
            save(ModelArchive(head, data: description, newItemPrior: newItemPrior))
        case .tanp:
            // Selected on validation users between with and without item-id embeddings; new
            // items get a zero id embedding (the meta-embedding generator is MeLU's).
            let tanp = try reporter.phase("TaNP") {
                try experiment.trainTaNP(configuration: model.tanp, monitor: reporter.monitor)
            }
            save(ModelArchive(tanp, data: description))
        }
        if let saveError { throw saveError }
        if let peak = ResourceUsage.peakResidentBytes() { log("peak resident memory: \(peak / 1_048_576) MiB") }
        if Interruption.requested {
            throw Interruption.Stopped(description: "\(url.path) holds the best model so far")
        }
        log("wrote \(url.path)")
    }

    /// The meta-embedding generator for new items (Pan et al., SIGIR 2019), trained on the warm
    /// items with the trained model frozen; nil when turned off, useless, or impossible here.
    func newItemGenerator(
        _ network: MeLUModel, _ parameters: ParameterSet, _ experiment: Experiment,
        _ reporter: ProgressReporter
    ) -> MetaEmbeddingGenerator? {
        guard itemGenerator, !Interruption.requested, network.configuration.itemIDEmbedding,
            !network.items.fields.isEmpty
        else { return nil }
        let trained = Array(Set(experiment.split.warmInteractions.map(\.item))).sorted()
        let statistics = MetaEmbeddingGenerator.idEmbeddingStatistics(parameters, items: trained)
        do {
            var options = MetaEmbeddingOptions()
            options.seed = experiment.initialisationSeed
            let generator = try MetaEmbeddingGenerator(
                model: network, base: parameters, options: options, scale: max(statistics.standardDeviation, 1e-4))
            try reporter.phase("meta-embedding generator") {
                _ = try generator.fit(
                    training: experiment.split.warmInteractions, features: experiment.features,
                    monitor: reporter.monitor)
            }
            return generator
        } catch {
            log("no meta-embedding generator (new items get a zero id embedding): \(error)")
            return nil
        }
    }
}
