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

    @Option(help: "Known-users rows: share of values masked as unknown and of user ids dropped in pretraining, so that new users and unseen values start from an average.")
    var knownUserMasking: Float = 0.2

    @Flag(help: "No progress bars.")
    var quiet = false

    func validate() throws {
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
        let dataset = try data.load()
        let experiment = try Experiment(dataset: dataset, seed: split.seed, threads: model.threads, splitOptions: split.options)
        log("\(dataset.name): \(dataset.userCount) users, \(dataset.itemCount) items, \(dataset.interactions.count) interactions")

        var methods: [ColdStartPredictor] = experiment.baselines()
        let pretrainedBar = ProgressBar("pretrained network", enabled: !quiet)
        let network = experiment.trainPretrained(options: model.pretrainingOptions, model: model.model, progress: pretrainedBar.update)
        pretrainedBar.finish()
        methods.append(network)
        let fineTuned = experiment.fineTuned(network, partition: model.adaptation.partition, steps: model.innerSteps)
        methods.append(fineTuned)

        // Known users stay known (issue 12): existing users meeting new items start from a
        // learned user-id embedding; masking teaches the unknown rows and the missing id an average.
        let knownBar = ProgressBar("pretrained network (user id)", enabled: !quiet)
        var knownOptions = model.pretrainingOptions
        knownOptions.unseenMaskingRate = knownUserMasking
        var knownConfiguration = model.model
        knownConfiguration.userIDEmbedding = true
        let known = experiment.trainPretrained(options: knownOptions, model: knownConfiguration, progress: knownBar.update)
        knownBar.finish()
        known.variant = "user id, masking \(knownUserMasking)"
        methods.append(known)
        methods.append(experiment.fineTuned(known, partition: model.adaptation.partition, steps: model.innerSteps))

        // Meta-training starts at random; --from-pretrained starts from the pretrained network.
        for (label, order, learnsRates) in [("MAML", MetaGradientOrder.second, false), ("first-order MAML", .first, false), ("Meta-SGD", .second, true)] {
            let bar = ProgressBar(label, enabled: !quiet)
            methods.append(experiment.trainMetaLearner(
                options: model.metaOptions(order: order, learnsRates: learnsRates,
                                           chosenRate: model.fromPretrained ? fineTuned.fineTuning?.learningRate : nil),
                model: model.model,
                initial: model.fromPretrained ? network.parameters : nil, progress: bar.update))
            bar.finish()
        }
        let covarianceBar = ProgressBar("covariance head", enabled: !quiet)
        var covariance = CovarianceHead.Configuration()
        covariance.maxEpochs = quick ? 3 : 20
        methods.append(experiment.trainCovarianceHead(configuration: covariance, progress: covarianceBar.update))
        covarianceBar.finish()

        let report = experiment.report(for: methods, log: quiet ? nil : { log($0) })
        print(report.markdown())
        if let json {
            try report.json().write(toFile: json, atomically: true, encoding: .utf8)
        }
    }
}
