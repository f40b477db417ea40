import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT: training stops after the current meta-batch and the last good checkpoint stays.
nonisolated(unsafe) private var interrupted: sig_atomic_t = 0

/// `metarec train`: fits one method on the warm users of a data set and saves it.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a method on the warm users of a data set and save it as a safetensors checkpoint.",
        discussion: """
            The checkpoint is rewritten atomically whenever the validation score improves, so
            Ctrl-C (or a crash) leaves the last good model in place.

            Example:
              metarec train --data ../shared/data/ml-100k --method maml --out maml.safetensors
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments
    @OptionGroup var model: ModelArguments

    @Option(help: "maml (exact second order), fomaml (first order), meta-sgd, covariance, or pretrained.")
    var method: MethodArgument = .maml

    @Option(help: "Where to write the checkpoint.")
    var out: String = "model.safetensors"

    @Flag(help: "No progress bar.")
    var quiet = false

    @Flag(inversion: .prefixedNo, help: "Train the meta-embedding generator that ranks new items from their features (when the model has item-id embeddings and items have features).")
    var itemGenerator = true

    func run() throws {
        let dataset = try data.load()
        let experiment = try Experiment(dataset: dataset, seed: split.seed, threads: model.threads, splitOptions: split.options)
        let description = ModelArchive.DataDescription(
            name: dataset.name, source: data.data, seed: split.seed, implicitThreshold: data.implicitThreshold)
        let url = URL(fileURLWithPath: out)
        signal(SIGINT) { _ in interrupted = 1 }
        defer { signal(SIGINT, SIG_DFL) }
        let bar = ProgressBar(method.rawValue, enabled: !quiet)
        var saveError: Error?
        // A bundle stands alone: encoders, catalogue and provenance beside the parameters.
        func save(_ archive: @autoclosure () -> ModelArchive, generator: MetaEmbeddingGenerator? = nil) {
            do { try ModelBundle(archive: archive(), experiment: experiment, generator: generator).write(to: url) } catch { saveError = error }
        }

        switch method {
        case .maml, .firstOrderMAML, .metaSGD:
            var initial: ParameterSet?
            var chosenRate: Float?
            if model.fromPretrained {
                let pretrainBar = ProgressBar("pretraining", enabled: !quiet)
                let network = experiment.trainPretrained(options: model.pretrainingOptions, model: model.model, progress: pretrainBar.update)
                pretrainBar.finish()
                initial = network.parameters
                chosenRate = experiment.fineTuned(network, partition: model.adaptation.partition, steps: model.innerSteps).fineTuning?.learningRate
            }
            let options = model.metaOptions(
                order: method == .firstOrderMAML ? .first : .second, learnsRates: method == .metaSGD, chosenRate: chosenRate)
            let learner = experiment.makeMetaLearner(options: options, model: model.model, initial: initial)
            experiment.fit(
                learner,
                progress: { progress in
                    bar.update(progress)
                    // The live parameters are the best so far exactly when a new best is reported.
                    if progress.isNewBest { save(ModelArchive(learner, data: description)) }
                },
                shouldStop: { interrupted != 0 })
            bar.finish()
            save(ModelArchive(learner, data: description), generator: newItemGenerator(learner.model, learner.parameters, experiment))
        case .pretrained:
            let network = experiment.trainPretrained(options: model.pretrainingOptions, model: model.model, progress: bar.update)
            bar.finish()
            save(ModelArchive(experiment.fineTuned(network, partition: model.adaptation.partition, steps: model.innerSteps), data: description),
                 generator: newItemGenerator(network.model, network.parameters, experiment))
        case .covariance:
            let head = experiment.trainCovarianceHead(progress: bar.update)
            save(ModelArchive(head, data: description))
        }
        bar.finish()
        if let saveError { throw saveError }
        log(interrupted != 0 ? "interrupted: \(url.path) holds the last good model" : "wrote \(url.path)")
        if let peak = ResourceUsage.peakResidentBytes() { log("peak resident memory: \(peak / 1_048_576) MiB") }
    }

    /// The meta-embedding generator for new items (Pan et al., SIGIR 2019), trained on the warm
    /// items with the trained model frozen; nil when turned off, useless, or impossible here.
    func newItemGenerator(_ network: MeLUModel, _ parameters: ParameterSet, _ experiment: Experiment) -> MetaEmbeddingGenerator? {
        guard itemGenerator, interrupted == 0, network.configuration.itemIDEmbedding, !network.items.fields.isEmpty else { return nil }
        let trained = Array(Set(experiment.split.warmInteractions.map(\.item))).sorted()
        let statistics = MetaEmbeddingGenerator.idEmbeddingStatistics(parameters, items: trained)
        do {
            var options = MetaEmbeddingOptions()
            options.seed = experiment.seed
            let generator = try MetaEmbeddingGenerator(model: network, base: parameters, options: options, scale: max(statistics.standardDeviation, 1e-4))
            try generator.fit(training: experiment.split.warmInteractions, features: experiment.features,
                              progress: quiet ? nil : { log($0) })
            return generator
        } catch {
            log("no meta-embedding generator (new items get a zero id embedding): \(error)")
            return nil
        }
    }
}
