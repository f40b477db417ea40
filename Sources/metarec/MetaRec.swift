import ArgumentParser
import MetaRecCore

/// The `metarec` command-line tool.
@main
struct MetaRecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metarec",
        abstract: "A cold-start recommender that meta-learns how to learn a new user or item.",
        version: MetaRecVersion.string,
        subcommands: [DemoCommand.self, TrainCommand.self, EvaluateCommand.self, ReportCommand.self, RecommendCommand.self, ServeCommand.self, DataCommand.self, InfoCommand.self]
    )
}
