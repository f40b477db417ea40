import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

/// Loads a checkpoint and checks that it was trained on data shaped like `experiment`'s.
func loadPredictor(_ path: String, for experiment: Experiment) throws -> (ColdStartPredictor, ModelArchive) {
    let archive = try ModelArchive(contentsOf: URL(fileURLWithPath: path))
    let users = FeatureSpace(experiment.split.userFeatures), items = FeatureSpace(experiment.split.itemFeatures)
    guard archive.header.users == users, archive.header.items == items else {
        throw ValidationError("""
            \(path) was trained on '\(archive.header.data.name)' (\(archive.header.data.source), split seed \
            \(archive.header.data.seed)); the data given here ('\(experiment.dataset.name)', seed \(experiment.seed)) \
            has other features or vocabularies. Pass the same --data and --seed as at training.
            """)
    }
    return (try archive.predictor(), archive)
}

/// `metarec evaluate`: the protocol's table for saved methods, beside every baseline.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate checkpoints by the protocol, beside the baselines, as Markdown and JSON.",
        discussion: """
            The baselines are the protocol's: global, user and item means, and the same network
            trained on all warm ratings, as it is and fine-tuned on each support set with the
            meta-learner's number of steps (its learning rate chosen on validation users).

            Example:
              metarec evaluate --data ../shared/data/ml-100k --model maml.safetensors --json report.json
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments
    @OptionGroup var model: ModelArguments

    @Option(name: .customLong("model"), help: "A checkpoint written by 'metarec train' (repeat for several).")
    var models: [String] = []

    @Flag(help: "Skip training the network baselines (faster; the table then lacks them).")
    var noNetworkBaselines = false

    @Option(help: "Write the report as JSON to this file.")
    var json: String?

    @Option(help: "Write the Markdown table to this file as well as to standard output.")
    var markdown: String?

    @Flag(help: "No progress bars.")
    var quiet = false

    func run() throws {
        let dataset = try data.load()
        let experiment = try Experiment(dataset: dataset, seed: split.seed, threads: model.threads, splitOptions: split.options)
        var methods: [ColdStartPredictor] = experiment.baselines()
        var loaded: [(ColdStartPredictor, ModelArchive)] = []
        for path in models { loaded.append(try loadPredictor(path, for: experiment)) }
        if !noNetworkBaselines {
            let rule = loaded.compactMap { $0.1.header.metaTraining?.adaptation }.first ?? model.adaptation
            let bar = ProgressBar("pretrained network", enabled: !quiet)
            let network = experiment.trainPretrained(options: model.pretrainingOptions, model: model.model, progress: bar.update)
            bar.finish()
            methods.append(network)
            methods.append(experiment.fineTuned(network, partition: rule.partition, steps: rule.steps))
        }
        methods.append(contentsOf: loaded.map(\.0))
        let report = experiment.report(for: methods, log: quiet ? nil : { log($0) })
        let table = report.markdown()
        print(table)
        if let markdown { try table.write(toFile: markdown, atomically: true, encoding: .utf8) }
        if let json { try report.json().write(toFile: json, atomically: true, encoding: .utf8) }
    }
}
