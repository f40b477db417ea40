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

    @Flag(help: "No progress bars.")
    var quiet = false

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
        if let html { try HTMLReport.write([ReportBundle(protocol: report)], toFile: html) }
    }
}
