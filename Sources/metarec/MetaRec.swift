import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// The `metarec` command-line tool: a thin shell over the library.
@main
struct MetaRecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metarec",
        abstract: "A cold-start recommender that meta-learns how to learn a new user or item.",
        version: MetaRecVersion.string,
        subcommands: [
            DemoCommand.self, TrainCommand.self, EvaluateCommand.self, ReportCommand.self, RecommendCommand.self,
            OnboardingCommand.self, ServeCommand.self, PublishCommand.self, LearnCommand.self, DataCommand.self,
            InfoCommand.self,
        ]
    )

    /// Parses and runs a command. Only a malformed command line shows the usage text; an error
    /// while running prints its message and a one-line hint. Exit codes: 0 done, 1 failed,
    /// 64 malformed command line (ArgumentParser's), 130 interrupted by Ctrl-C.
    static func main() async {
        let command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        // OpenBLAS is loaded here, before any other thread starts: choosing its core type may set
        // OPENBLAS_CORETYPE for a moment (see OpenBLASCoreType), and setenv is not thread-safe.
        _ = Kernels.backend
        Interruption.install()
        do {
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                var synchronous = command
                try synchronous.run()
            }
        } catch {
            fail(error)
        }
        if Interruption.requested { Foundation.exit(130) }
    }

    /// Prints `error` for a person and exits with its code.
    static func fail(_ error: Error) -> Never {
        let terminal = Terminal.standardError
        switch error {
        case let stopped as Interruption.Stopped:
            log(terminal.styled("stopped:", .yellow) + " \(stopped.description)")
            Foundation.exit(130)
        case let exit as ExitCode:
            Foundation.exit(exit.rawValue)
        case is ValidationError:
            log(terminal.styled("error:", .red) + " \(message(error))")
            Foundation.exit(1)
        case _ where String(reflecting: type(of: error)).hasPrefix("ArgumentParser."):
            // `metarec help train`, `--version` and the like: ArgumentParser prints them.
            MetaRecCommand.exit(withError: error)
        default:
            log(terminal.styled("error:", .red) + " \(message(error))")
            if let hint = hint(for: error) { log(terminal.styled("hint:", .dim) + " \(hint)") }
            Foundation.exit(1)
        }
    }

    static func message(_ error: Error) -> String {
        if let validation = error as? ValidationError { return validation.message }
        return String(describing: error)
    }

    /// One line on what to do next, where there is something useful to say.
    static func hint(for error: Error) -> String? {
        switch error {
        case let data as DataError:
            return data.line == nil
                ? "check the path and the file's format (docs: Docs/data.md)"
                : "fix that line, or pass --skip-bad-lines to skip malformed lines and count them"
        case is CheckpointError, is ModelArchiveError:
            return "the model file cannot be used: train it again with 'metarec train ... --out FILE'"
        case is TrainingError:
            return nil  // its message already says which option to change
        case let cocoa as CocoaError where cocoa.code == .fileNoSuchFile || cocoa.code == .fileWriteNoPermission:
            return "check that the folder exists and is writable"
        default:
            return nil
        }
    }
}
