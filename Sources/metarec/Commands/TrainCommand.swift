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

    func validate() throws {
        try OptionChecks.outputFile(out, "--out")
    }

    func run() throws {
        let dataset = try data.loadForTraining()
        let experiment = try Experiment(dataset: dataset, seed: split.seed, threads: model.threads, splitOptions: split.options)
        let description = ModelArchive.DataDescription(
            name: dataset.name, source: data.data, seed: split.seed, implicitThreshold: data.implicitThreshold)
        let url = URL(fileURLWithPath: out)
        signal(SIGINT) { _ in interrupted = 1 }
        defer { signal(SIGINT, SIG_DFL) }
        let bar = ProgressBar(method.rawValue, enabled: !quiet)
        var saveError: Error?
        func save(_ archive: @autoclosure () -> ModelArchive) {
            do { try archive().write(to: url) } catch { saveError = error }
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
            save(ModelArchive(learner, data: description))
        case .pretrained:
            let network = experiment.trainPretrained(options: model.pretrainingOptions, model: model.model, progress: bar.update)
            save(ModelArchive(experiment.fineTuned(network, partition: model.adaptation.partition, steps: model.innerSteps), data: description))
        case .covariance:
            let head = experiment.trainCovarianceHead(progress: bar.update)
            save(ModelArchive(head, data: description))
        }
        bar.finish()
        if let saveError { throw saveError }
        log(interrupted != 0 ? "interrupted: \(url.path) holds the last good model" : "wrote \(url.path)")
        if let peak = ResourceUsage.peakResidentBytes() { log("peak resident memory: \(peak / 1_048_576) MiB") }
    }
}
