import ArgumentParser
import MetaRecEvaluation
import MetaRecModels

/// `metarec evaluate --exploration-replay` and its settings.
struct ExplorationReplayArguments: ParsableArguments {
    @Flag(
        help:
            "Also replay the item warm-up as a bandit simulation with the covariance head: greedy against Thompson sampling and UCB (regret, impressions until new items reach warm items' MAE)."
    )
    var explorationReplay = false

    @Option(help: "Exploration replay: rounds of the simulation.")
    var explorationRounds: Int = 3

    @Option(help: "Exploration replay: new items shown to each user per round.")
    var explorationPerRound: Int = 3

    @Option(help: "Exploration replay: strengths of Thompson sampling and UCB, comma-separated.")
    var explorationStrengths: String = "0.5,1,2"

    var options: ExplorationReplayOptions {
        get throws {
            let strengths = explorationStrengths.split(separator: ",").map {
                Double($0.trimmingCharacters(in: .whitespaces))
            }
            guard !strengths.isEmpty, strengths.allSatisfy({ $0.map { $0.isFinite && $0 >= 0 } ?? false }) else {
                throw ValidationError(
                    "--exploration-strengths must be numbers >= 0 separated by commas, got '\(explorationStrengths)'")
            }
            return ExplorationReplayOptions(
                rounds: explorationRounds, itemsPerRound: explorationPerRound, strengths: strengths.map { $0! })
        }
    }

    func validate() throws {
        try OptionChecks.integer(explorationRounds, "--exploration-rounds", in: 1...1000)
        try OptionChecks.integer(explorationPerRound, "--exploration-per-round", in: 1...1000)
        _ = try options
    }
}
