import ArgumentParser
import Foundation

@testable import metarec

/// What the store commands' tests share: a fresh folder, a small synthetic data set, and a runner
/// that parses a command line as `metarec` does and runs it, async or not.
struct CommandRunner {
    let directory: URL

    init(_ name: String) {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "metarec-\(name)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    static let small = [
        "--synthetic-users", "200", "--synthetic-items", "60", "--synthetic-interactions", "6000", "--quiet",
    ]

    func run(_ arguments: [String]) async throws {
        var command = try MetaRecCommand.parseAsRoot(arguments)
        if var asyncCommand = command as? any AsyncParsableCommand {
            try await asyncCommand.run()
        } else {
            try command.run()
        }
    }

    /// Trains `method` on the small data into `name` and returns its path.
    func train(_ method: String, into name: String, seed: Int = 1) async throws -> String {
        let path = directory.appendingPathComponent(name).path
        try await run(
            ["train", "--method", method, "--epochs", "1", "--seed", "\(seed)", "--out", path] + Self.small)
        return path
    }
}
