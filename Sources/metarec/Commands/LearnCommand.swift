import ArgumentParser
import Foundation
import MetaRecModels
import MetaRecOnline
import MetaRecStore

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGTERM: the learner stops as on Ctrl-C.
nonisolated(unsafe) private var terminationRequested: sig_atomic_t = 0

/// `metarec learn`: the online stage of the meta parameter partition (Zhao et al., arXiv
/// 1912.04108) run beside `metarec serve` on the same store; ``LiveLearner`` does the work, this
/// command reads options and prints one line per publish or refusal.
struct LearnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn",
        abstract: "Keep improving the start for new users from the store's feedback, beside 'metarec serve'.",
        discussion: """
            Each new user's first rows make a task (--support rows to adapt on, --query rows to score); the query is predicted before the user is learned from (prequential), then the adaptive initialisation is meta-updated, the fixed part frozen. Every --every-users users or --every-seconds seconds the bundle with the new start is checked against the serving version on held-back users and replayed ones, and published if it is not worse by more than --margin and the serving version is still the one it was checked against. Each check's figures (users learned, users/s, prequential stream GAUC and MAE, held-back and replay scores, one meta-update's time, what was published or refused and why) go into the store: every replica's /metrics and admin page show them. Only meta-learner bundles (maml, fomaml, meta-sgd) can learn online. One learner per store; a restart resumes from the note of the version it published.

            Examples:
              metarec learn --store sqlite:ml100k.sqlite
              metarec learn --model ml100k.safetensors --store sqlite:ml100k.sqlite --once
            """)

    @Option(help: "The bundle to start from when the store serves nothing yet (else the store's version is used).")
    var model: String?

    @Option(help: "The store the service runs on: sqlite:PATH, or postgres://user@host:port/database.")
    var store: String

    @Option(help: "A file whose first line is the PostgreSQL password (default: PGPASSWORD).")
    var storePasswordFile: String?

    @Flag(help: "Read the log to its end, check and publish once, and exit.")
    var once = false

    @Option(help: "Check a candidate after this many new users' tasks.")
    var everyUsers = LiveLearner.Options().everyUsers

    @Option(help: "...or after this many seconds.")
    var everySeconds = LiveLearner.Options().everySeconds

    @Option(
        help:
            "How much worse (MAE, or 1 - GAUC for clicks) than the serving version a candidate may score and still be published."
    )
    var margin = LiveLearner.Options().margin

    @Option(help: "Rows a task adapts on (a user's first ones).")
    var support = LiveLearner.Options().supportSize

    @Option(help: "Rows a task is scored on (the next ones).")
    var query = LiveLearner.Options().querySize

    @Option(
        help:
            "Hold back one user in this many from learning, for the checks (at least 2). 0 learns from everyone and publishes nothing: a dry run that scores the stream."
    )
    var holdOutEvery = LiveLearner.Options().holdOutEvery

    @Option(help: "Adam learning rate of the online meta-updates.")
    var learningRate = OnlineMetaLearner.Options().learningRate

    @Option(help: "Earlier users' tasks replayed with each new user's meta-update, against forgetting (0: none).")
    var replay = OnlineMetaLearner.Options().replayTasks

    @Option(help: "The replayed tasks' share of each meta-update, in [0, 1); the new user has the rest.")
    var replayWeight = OnlineMetaLearner.Options().replayWeight ?? 0.5

    @Flag(help: "Print a line per user's task too.")
    var verbose = false

    func run() async throws {
        var options = LiveLearner.Options()
        options.everyUsers = everyUsers
        options.everySeconds = everySeconds
        options.margin = margin
        options.supportSize = support
        options.querySize = query
        options.holdOutEvery = holdOutEvery
        options.online.learningRate = learningRate
        options.online.replayTasks = replay
        options.online.replayWeight = replayWeight
        var bundle: ModelBundle?
        if let model { bundle = try ModelBundle(contentsOf: URL(fileURLWithPath: model)) }
        let store = try await StoreLocation.open(self.store, passwordFile: storePasswordFile)
        let verbose = self.verbose
        let once = self.once
        do {
            let learner = try await LiveLearner(store: store, bundle: bundle, options: options) { event in
                if let line = Self.render(event, verbose: verbose) { Self.emit(line) }
            }
            Interruption.install()
            // SIGTERM (a service manager stopping it) ends it as Ctrl-C does: the lock released.
            signal(SIGTERM) { _ in terminationRequested = 1 }
            let work = Task { try await learner.run(once: once) }
            let watcher = Task {
                while !Task.isCancelled {
                    if Interruption.requested || terminationRequested != 0 {
                        work.cancel()
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            defer { watcher.cancel() }
            try await work.value
            Self.emit(learner.figures.summary)
            try await store.close()
        } catch let error as LiveLearnerError {
            try? await store.close()
            throw ValidationError(error.description)
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// Writes a line at once (unbuffered), so a log file shows a long-running learner as it goes.
    static func emit(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func render(_ event: LiveLearner.Event, verbose: Bool) -> String? {
        switch event {
        case .started(let version, let position):
            return "learning from model \(version.prefix(12)), reading feedback after sequence \(position)"
        case .task(let user, let sequence, let heldOut, _, let score):
            guard verbose else { return nil }
            let scored = score.map { String(format: "%.4f", $0) } ?? "-"
            return "user \(user) at \(sequence): \(heldOut ? "held back" : "learned"), prequential \(scored)"
        case .published(let model, let evaluation):
            return
                "published \(model.id.prefix(12)): held-back \(String(format: "%.4f", evaluation.candidateHeldOut)) against \(String(format: "%.4f", evaluation.servingHeldOut)) (\(evaluation.heldOutTasks) users), replayed \(String(format: "%.4f", evaluation.candidateReplay)) against \(String(format: "%.4f", evaluation.servingReplay)) (\(evaluation.replayTasks))"
        case .refused(let reason, _):
            return "not published: \(reason)"
        case .rebased(let version):
            return "model \(version.prefix(12)) was published meanwhile: learning from it"
        case .skipped(let user, let reason):
            return "user \(user) skipped: \(reason)"
        case .reported:
            return nil
        case .caughtUp(let position):
            return verbose ? "read to sequence \(position)" : nil
        }
    }
}
