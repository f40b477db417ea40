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

        var methods: [ColdStartPredictor] = experiment.baselines()
        let network = try reporter.phase("pretrained network") {
            try experiment.trainPretrained(monitor: reporter.monitor)
        }
        try Interruption.check("the pretrained network")
        methods.append(network)
        let fineTuned = experiment.fineTuned(network)
        methods.append(fineTuned)

        // Known users stay known (issue 12): existing users meeting new items start from a
        // learned user-id embedding; masking teaches the unknown rows and the missing id an average.
        var knownOptions = configuration.pretraining
        knownOptions.unseenMaskingRate = knownUserMasking
        var knownConfiguration = configuration.model
        knownConfiguration.userIDEmbedding = true
        let known = try reporter.phase("pretrained network (user id)") {
            try experiment.trainPretrained(
                options: knownOptions, model: knownConfiguration, phase: "pretrained network (user id)",
                monitor: reporter.monitor)
        }
        try Interruption.check("the pretrained network (user id)")
        known.variant = "user id, masking \(knownUserMasking)"
        methods.append(known)
        methods.append(experiment.fineTuned(known))

        // Meta-training starts at random; --from-pretrained starts from the pretrained network.
        for (label, order, learnsRates) in [
            ("MAML", MetaGradientOrder.second, false), ("first-order MAML", .first, false), ("Meta-SGD", .second, true),
        ] {
            let options = model.metaOptions(
                configuration, order: order, learnsRates: learnsRates,
                chosenRate: model.fromPretrained ? fineTuned.fineTuning?.learningRate : nil)
            methods.append(
                try reporter.phase(label) {
                    try experiment.trainMetaLearner(
                        options: options, initial: model.fromPretrained ? network.parameters : nil,
                        phase: label, monitor: reporter.monitor)
                })
            try Interruption.check(label)
        }
        // Issue 21: MAML whose query loss also ranks liked items above sampled catalogue items.
        for objective in try parsedRankingObjectives {
            var options = model.metaOptions(
                configuration, order: .second, learnsRates: false,
                chosenRate: model.fromPretrained ? fineTuned.fineTuning?.learningRate : nil)
            options.ranking = RankingLoss(objective: objective, relevantAt: experiment.relevantAt)
            let label = "MAML (\(objective.rawValue) loss)"
            methods.append(
                try reporter.phase(label) {
                    try experiment.trainMetaLearner(
                        options: options, initial: model.fromPretrained ? network.parameters : nil, phase: label,
                        monitor: reporter.monitor)
                })
            try Interruption.check(label)
        }
        methods.append(
            try reporter.phase("covariance head") { try experiment.trainCovarianceHead(monitor: reporter.monitor) })
        try Interruption.check("the covariance head")
        var tanp = TaNP.Configuration()
        if quick { tanp.maxEpochs = 3 }
        methods.append(
            try reporter.phase("TaNP") { try experiment.trainTaNP(configuration: tanp, monitor: reporter.monitor) })
        try Interruption.check("TaNP")
        // MAMO (issue 14): MAML from a start personalised by memories read with the user's
        // profile; it meta-trains with the run's MAML options, so --quick and --epochs bound it.
        methods.append(try reporter.phase("MAMO") { try experiment.trainMAMO(monitor: reporter.monitor) })
        try Interruption.check("MAMO")

        var report = reporter.phase("evaluation") { experiment.report(for: methods, log: reporter.note) }
        // What validation chose: steps per support size (few-shot first), and how known users start
        // in item-cold (from the prior or their history).
        let schedules = methods.compactMap { method -> String? in
            let rule = (method as? MetaLearner)?.options.adaptation ?? (method as? PretrainedNetwork)?.fineTuning
            return rule?.supportSchedule.map { "\(method.name), steps by support size: \($0.summary)" }
        }
        let histories = methods.compactMap { method in
            (method as? KnownHistoryChoosing)?.knownHistorySelection.map { "\(method.name): \($0.summary)" }
        }
        report.notes = (report.notes ?? []) + schedules + histories
        print(report.markdown())
        let bundle = ReportBundle(
            splitSeed: experiment.seed, initialisationSeed: experiment.initialisationSeed, protocol: report)
        if let json { try bundle.write(to: URL(fileURLWithPath: json)) }
        if let html { try HTMLReport.write([bundle], toFile: html) }
    }
}
