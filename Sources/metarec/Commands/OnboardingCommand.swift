import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

/// `metarec onboarding`: the offline evaluation of question choosers (issue 14) on one split.
struct OnboardingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onboarding",
        abstract: "Train the covariance head and compare question choosers on user-cold tasks, with calibration.",
        discussion: """
            Each user-cold test user is asked about items of their own support set (the only
            answers known), one at a time, each answer updating the posterior before the next
            choice; the query MAE after K answers is printed per chooser, then the share of query
            ratings within ±1 and ±2 predictive standard deviations after the K earliest ratings.

            Example:
              metarec onboarding --data ../shared/data/ml-100k --seed 0 --json onboarding-0.json
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments

    @Option(help: "Maximum epochs of the covariance head (the epoch kept is the best on validation users).")
    var epochs: Int = 20

    @Option(help: "Worker threads.")
    var threads: Int = 2

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    @Flag(help: "One line per phase with its duration, no progress.")
    var quiet = false

    func validate() throws {
        guard epochs > 0, threads > 0 else { throw ValidationError("--epochs and --threads must be positive") }
    }

    func run() throws {
        let reporter = ProgressReporter(verbosity: quiet ? .quiet : .normal)
        let dataset = try reporter.phase("reading \(data.data)") { try data.loadForTraining() }
        let experiment = try Experiment(
            dataset: dataset, seed: split.seed, threads: threads, splitOptions: split.options)
        var configuration = CovarianceHead.Configuration()
        configuration.maxEpochs = epochs
        let head = try reporter.phase("covariance head") {
            try experiment.trainCovarianceHead(configuration: configuration, monitor: reporter.monitor)
        }
        try Interruption.check("the covariance head")
        let report = reporter.phase("onboarding study") { experiment.onboardingReport(head: head) }
        print(report.markdown())
        if let json { try JSONFormat.write(report, to: URL(fileURLWithPath: json)) }
    }
}
