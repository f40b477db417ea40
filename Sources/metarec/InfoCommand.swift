import ArgumentParser
import MetaRecCore

/// `metarec info`: version, kernel backend, threads.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print the version and the numeric backend.")
    func run() throws {
        print("metarec \(MetaRecVersion.string)")
    }
}
