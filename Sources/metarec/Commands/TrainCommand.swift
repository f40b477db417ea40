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
    var method: BundleMethod = .maml

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

    @Option(
        help:
            "Training users a meta-learner's bundle keeps (their features and up to 30 ratings each) so that `metarec learn` replays them against forgetting; 0 keeps none."
    )
    var replayUsers = ModelBundle.ReplayUsers.defaultCount

    func validate() throws {
        try OptionChecks.outputFile(out, "--out")
        try OptionChecks.integer(replayUsers, "--replay-users", in: 0...100_000)
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
        // Each new best is written at once, so Ctrl-C (or a crash) leaves the last good model.
        var saveError: Error?
        let bundle: ModelBundle
        do {
            var recipe = model.recipe(method, configuration, newItemGenerator: itemGenerator)
            recipe.replayUsers = replayUsers
            bundle = try recipe.train(
                experiment, data: description, phases: reporter,
                onBest: { best in
                    do { try best.write(to: url) } catch { saveError = error }
                }, note: { log($0) })
        } catch let interrupted as TrainingInterrupted {
            throw Interruption.Stopped(description: interrupted.description)
        }
        if let saveError { throw saveError }
        try bundle.write(to: url)
        if let peak = ResourceUsage.peakResidentBytes() { log("peak resident memory: \(peak / 1_048_576) MiB") }
        if Interruption.requested {
            throw Interruption.Stopped(description: "\(url.path) holds the best model so far")
        }
        log("wrote \(url.path)")
    }
}
