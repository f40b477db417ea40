import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

/// `metarec demo`: the main job end to end on the built-in synthetic data (or any data set):
/// split by the protocol, train every method on warm users only, print the protocol's table.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train every method on the built-in synthetic data (or --data) and print the protocol's table.")

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments
    @OptionGroup var model: ModelArguments

    @Flag(help: "A smaller data set and fewer epochs: a smoke test that finishes in well under a minute.")
    var quick = false

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    @Option(help: "Also write the report as one self-contained HTML file with its plots.")
    var html: String?

    @Option(
        help:
            "Known-users rows: share of values masked as unknown and of user ids dropped in pretraining, so that new users and unseen values start from an average."
    )
    var knownUserMasking: Float = 0.2

    @Flag(help: "One line per phase with its duration, no progress.")
    var quiet = false

    @Option(
        help:
            "Also meta-train MAML with a ranking term in its query loss (comma-separated: bpr, softmax); full ranking keeps the adaptive method with the best validation recall@20."
    )
    var rankingObjectives = ""

    /// The parsed `--ranking-objectives`.
    var parsedRankingObjectives: [RankingObjective] {
        get throws {
            try rankingObjectives.split(separator: ",").map { name in
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                guard let objective = RankingObjective(rawValue: trimmed), objective != .pointwise else {
                    throw ValidationError(
                        "--ranking-objectives: unknown objective '\(trimmed)' (expected bpr or softmax)")
                }
                return objective
            }
        }
    }

    func validate() throws {
        try OptionChecks.outputFile(json, "--json")
        try OptionChecks.outputFile(html, "--html")
        _ = try parsedRankingObjectives
        guard knownUserMasking >= 0, knownUserMasking < 1 else {
            throw ValidationError("--known-user-masking must be in [0, 1), got \(knownUserMasking)")
        }
    }

    mutating func run() throws {
        if quick {
            data.syntheticUsers = min(data.syntheticUsers, 300)
            data.syntheticItems = min(data.syntheticItems, 300)
            data.syntheticInteractions = min(data.syntheticInteractions, 15_000)
            model.epochs = min(model.epochs, 3)
        }
        let reporter = ProgressReporter(verbosity: quiet ? .quiet : .normal)
        let dataset = try reporter.phase("reading \(data.data)") { try data.loadForTraining() }
        var configuration = model.configuration(split: split.options)
        if quick { configuration.covariance.maxEpochs = 3 }
        let experiment = try Experiment(dataset: dataset, configuration: configuration)
        log(
            "\(dataset.name): \(dataset.userCount) users, \(dataset.itemCount) items, \(dataset.interactions.count) interactions"
        )

        var recipe = DemoRecipe(configuration: configuration)
        recipe.fromPretrained = model.fromPretrained
        recipe.innerRateIsFixed = model.innerLearningRate != nil
        recipe.knownUserMasking = knownUserMasking
        recipe.rankingObjectives = try parsedRankingObjectives
        if quick { recipe.tanp.maxEpochs = 3 }
        let methods: [ColdStartPredictor]
        do {
            methods = try recipe.train(experiment, phases: reporter)
        } catch let interrupted as TrainingInterrupted {
            throw Interruption.Stopped(description: interrupted.description)
        }
        var report = reporter.phase("evaluation") { experiment.report(for: methods, log: reporter.note) }
        report.notes = (report.notes ?? []) + DemoRecipe.selectionNotes(methods)
        print(report.markdown())
        let bundle = ReportBundle(
            splitSeed: experiment.seed, initialisationSeed: experiment.initialisationSeed, protocol: report)
        if let json { try bundle.write(to: URL(fileURLWithPath: json)) }
        if let html { try HTMLReport.write([bundle], toFile: html) }
    }
}
