import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

/// Loads a checkpoint and checks that it was trained on data shaped like `experiment`'s, with the
/// same split seed, feedback threshold and data set (unless `allowOtherData`, which is logged).
func loadPredictor(
    _ path: String, for experiment: Experiment, implicitThreshold: Float? = nil,
    allowOtherData: Bool = false
) throws -> (ColdStartPredictor, ModelArchive) {
    let archive = try ModelArchive(contentsOf: URL(fileURLWithPath: path))
    let mismatches = ModelCompatibility.mismatches(
        archive.header.data, datasetName: experiment.dataset.name, seed: experiment.seed,
        implicitThreshold: implicitThreshold)
    if !mismatches.isEmpty {
        let list = mismatches.joined(separator: "; ")
        guard allowOtherData else {
            throw ValidationError(
                "\(path) does not match the data given here: \(list). Its test users may have been training users. Pass the same --data, --seed and --implicit-threshold as at training, or --allow-other-data to use it anyway."
            )
        }
        log("warning: --allow-other-data: using \(path) although \(list)")
    }
    let users = FeatureSpace(experiment.split.userFeatures)
    let items = FeatureSpace(experiment.split.itemFeatures)
    guard archive.header.users == users, archive.header.items == items else {
        throw ValidationError(
            """
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
            The baselines are the protocol's: global, user and item means, and the same network \
            trained on all warm ratings, as it is and fine-tuned on each support set with the \
            meta-learner's number of steps (its learning rate chosen on validation users).

            Example:
              metarec evaluate --data ml-100k --model maml.safetensors --json report.json
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments
    @OptionGroup var model: ModelArguments

    @Option(name: .customLong("model"), help: "A checkpoint written by 'metarec train' (repeat for several).")
    var models: [String] = []

    @Flag(
        help:
            "Use checkpoints trained with another split seed, threshold or data set (printed; their scores are then not the protocol's)."
    )
    var allowOtherData = false

    @Flag(help: "Skip training the network baselines (faster; the table then lacks them).")
    var noNetworkBaselines = false

    @Flag(
        help:
            "Also run the streaming evaluation of the meta parameter partition (offline meta-training per partition, then new users in time order)."
    )
    var streaming = false

    @Option(help: "Streaming: ratings a new user is adapted from (then the next as many are predicted).")
    var streamSupport: Int = 10

    @Option(help: "Streaming: partitions to compare, comma-separated (all, decision-layers, last-layer, modulation).")
    var streamPartitions: String = "all,decision-layers,last-layer,modulation"

    @Option(
        help:
            "Streaming: online learning rates to choose among on the validation users' stream (comma-separated; one value is used as is)."
    )
    var streamLearningRates: String = "0.0003"

    @Option(help: "Streaming: earlier tasks replayed with each new user's online meta-update (the replay condition).")
    var streamReplay: Int = OnlineMetaLearner.Options().replayTasks

    @Option(
        help:
            "Streaming: the replayed tasks' share of each online meta-update, in [0, 1) (the new user has the rest); comma-separated values run one replay condition each."
    )
    var streamReplayWeight: String = "\(OnlineMetaLearner.Options().replayWeight ?? 0)"

    @Flag(
        help:
            "Streaming: start the replay reservoir empty and fill it from the stream, as `metarec learn` does, instead of with warm users."
    )
    var streamReplayFromStream = false

    @Flag(
        help:
            "Also run the item warm-up evaluation of meta-embeddings for new items (MetaEmb, Pan et al. 2019) against random, mean and zero initialisation, with MWUF, and with LWA and NLBA on click data (--implicit-threshold)."
    )
    var itemWarmup = false

    @Option(help: "Item warm-up: interactions per new item in each warm-up round (a, b, c).")
    var warmupK: Int = 20

    @Option(help: "Item warm-up: the meta-embedding generator's training epochs.")
    var generatorEpochs: Int = 20

    @Option(
        help:
            "Item warm-up: candidate inner (and warm-up) rates of the generator, comma-separated; the one with the best objective on held-out warm items is used."
    )
    var generatorRates: String = MetaEmbeddingOptions.candidateInnerRates.map { "\($0)" }.joined(separator: ",")

    @OptionGroup var exploration: ExplorationReplayArguments

    @Flag(help: "Skip the protocol's table (with --streaming, --item-warmup or --exploration-replay).")
    var noTable = false

    @Option(help: "Write the report as JSON to this file.")
    var json: String?

    @Option(help: "Write the Markdown table to this file as well as to standard output.")
    var markdown: String?

    @Option(help: "Write the report as one self-contained HTML file with its plots.")
    var html: String?

    @Flag(help: "One line per phase with its duration, no progress.")
    var quiet = false

    func validate() throws {
        try OptionChecks.integer(streamSupport, "--stream-support", in: 1...1000)
        try OptionChecks.integer(streamReplay, "--stream-replay", in: 1...1000)
        for text in streamLearningRates.split(separator: ",", omittingEmptySubsequences: false) {
            guard let rate = Float(text.trimmingCharacters(in: .whitespaces)), rate.isFinite, rate > 0 else {
                throw ValidationError(
                    "--stream-learning-rates: '\(text)' is not a positive number; expected e.g. 0.0001,0.0003,0.001")
            }
        }
        _ = try Self.replayWeights(streamReplayWeight)
        for name in streamPartitions.split(separator: ",", omittingEmptySubsequences: false).map({
            $0.trimmingCharacters(in: .whitespaces)
        }) {
            guard ["all", "decision-layers", "decision", "last-layer", "last", "modulation"].contains(name) else {
                throw ValidationError(
                    "--stream-partitions: '\(name)' is not a partition; expected all, decision-layers, last-layer or modulation, comma-separated"
                )
            }
        }
        try OptionChecks.integer(warmupK, "--warmup-k", in: 1...10_000)
        try OptionChecks.integer(generatorEpochs, "--generator-epochs", in: 1...10_000)
        let rates = generatorRates.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard !rates.isEmpty, rates.allSatisfy({ $0.map { $0.isFinite && $0 > 0 } ?? false }) else {
            throw ValidationError(
                "--generator-rates must be positive numbers separated by commas, got '\(generatorRates)'")
        }
        try OptionChecks.outputFile(json, "--json")
        try OptionChecks.outputFile(markdown, "--markdown")
        try OptionChecks.outputFile(html, "--html")
        if noTable && !streaming && !itemWarmup && !exploration.explorationReplay {
            throw ValidationError(
                "--no-table leaves nothing to do; add --streaming, --item-warmup or --exploration-replay")
        }
    }

    func run() throws {
        let reporter = ProgressReporter(verbosity: quiet ? .quiet : .normal)
        let dataset = try reporter.phase("reading \(data.data)") { try data.loadForTraining() }
        let configuration = model.configuration(split: split.options)
        let experiment = try Experiment(dataset: dataset, configuration: configuration)
        var sections: [String] = []
        var bundle = ReportBundle(splitSeed: experiment.seed, initialisationSeed: experiment.initialisationSeed)
        if !noTable {
            let report = try protocolTable(experiment, reporter: reporter)
            sections.append(report.markdown())
            bundle.protocol = report
        }
        if streaming {
            var options = StreamingOptions()
            options.supportSize = streamSupport
            options.querySize = streamSupport
            options.partitions = streamPartitions.split(separator: ",").map { ParameterPartition(parsing: String($0)) }
            let rates = streamLearningRates.split(separator: ",").compactMap {
                Float($0.trimmingCharacters(in: .whitespaces))
            }
            options.online.learningRate = rates.first ?? options.online.learningRate
            options.learningRateCandidates = rates.count > 1 ? rates : nil
            options.online.replayTasks = streamReplay
            options.replayWeights = try Self.replayWeights(streamReplayWeight)
            options.replayStartsWithWarmUsers = !streamReplayFromStream
            let report = try reporter.phase("streaming evaluation") {
                try experiment.streamingEvaluation(
                    options: options, metaTraining: model.metaOptions(configuration, order: .second),
                    model: configuration.model,
                    monitor: reporter.monitor, log: reporter.note)
            }
            try Interruption.check("the streaming evaluation")
            sections.append(report.markdown())
            bundle.streaming = report
        }
        if itemWarmup {
            var network = configuration.model
            network.itemIDEmbedding = true
            let base = try reporter.phase("base network (item ids)") {
                try experiment.trainPretrained(model: network, phase: "base network", monitor: reporter.monitor)
            }
            try Interruption.check("the base network")
            var generatorOptions = MetaEmbeddingOptions()
            generatorOptions.k = warmupK
            generatorOptions.epochs = generatorEpochs
            let rates = generatorRates.split(separator: ",").compactMap {
                Float($0.trimmingCharacters(in: .whitespaces))
            }
            guard !rates.isEmpty, rates.allSatisfy({ $0 > 0 }) else {
                throw ValidationError(
                    "--generator-rates must be positive numbers separated by commas, got '\(generatorRates)'")
            }
            var warmUp = ItemWarmUpOptions()
            warmUp.k = warmupK
            // The generator's inner rate (also the warm-up rate) is chosen on held-out warm items.
            let report = try reporter.phase("item warm-up") {
                try experiment.itemWarmUp(
                    base: base, generatorOptions: generatorOptions, innerRates: rates, options: warmUp,
                    monitor: reporter.monitor, log: reporter.note)
            }
            try Interruption.check("the item warm-up")
            sections.append(report.markdown())
            bundle.itemWarmUp = report
        }
        if exploration.explorationReplay {
            let head = try reporter.phase("covariance head") {
                try experiment.trainCovarianceHead(monitor: reporter.monitor)
            }
            try Interruption.check("the covariance head")
            let options = try exploration.options
            let report = try reporter.phase("exploration replay") {
                try experiment.explorationReplay(head: head, options: options, log: reporter.note)
            }
            sections.append(report.markdown())
            bundle.exploration = report
        }
        let text = sections.joined(separator: "\n\n")
        print(text)
        if let markdown { try text.write(toFile: markdown, atomically: true, encoding: .utf8) }
        if let html { try HTMLReport.write([bundle], toFile: html) }
        if let json { try bundle.write(to: URL(fileURLWithPath: json)) }
    }

    /// `--stream-replay-weight`: shares in [0, 1), comma-separated.
    static func replayWeights(_ text: String) throws -> [Float] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let weight = Float($0.trimmingCharacters(in: .whitespaces)), weight >= 0, weight < 1 else {
                throw ValidationError(
                    "--stream-replay-weight: '\($0)' is not a share in [0, 1); expected e.g. 0.5, or 0.25,0.5,0.875")
            }
            return weight
        }
    }

    func protocolTable(_ experiment: Experiment, reporter: ProgressReporter) throws -> EvaluationReport {
        var methods: [ColdStartPredictor] = experiment.baselines()
        var loaded: [(ColdStartPredictor, ModelArchive)] = []
        for path in models {
            loaded.append(
                try loadPredictor(
                    path, for: experiment, implicitThreshold: data.implicitThreshold, allowOtherData: allowOtherData))
        }
        if !noNetworkBaselines {
            let rule = loaded.compactMap { $0.1.header.metaTraining?.adaptation }.first ?? model.adaptation
            let network = try reporter.phase("pretrained network") {
                try experiment.trainPretrained(monitor: reporter.monitor)
            }
            try Interruption.check("the pretrained network")
            methods.append(network)
            methods.append(experiment.fineTuned(network, partition: rule.partition, steps: rule.steps))
        }
        methods.append(contentsOf: loaded.map(\.0))
        return reporter.phase("evaluation") { experiment.report(for: methods, log: reporter.note) }
    }
}
