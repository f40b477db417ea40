import Foundation
import MetaRecModels

/// How much a command says on standard error while it works.
enum Verbosity {
    /// One line per phase, with its duration.
    case quiet
    /// Also progress: a bar redrawn in place on a terminal; elsewhere (a log file, CI) at most one
    /// line every few seconds, so a log never fills with copies of a bar.
    case normal
}

/// Renders the library's training events for a person: the library prints nothing itself.
final class ProgressReporter: TrainingPhases, @unchecked Sendable {
    let terminal: Terminal
    let verbosity: Verbosity
    /// Shortest time between two progress lines when standard error is not a terminal.
    let lineInterval: TimeInterval

    private var phaseStart = Date()
    private var lastLine = Date.distantPast
    private var lastProgress: TrainingProgress?
    private var barShown = false

    /// Where the text goes: standard error, or a test's buffer.
    let output: (String) -> Void

    init(
        verbosity: Verbosity, terminal: Terminal = .standardError, lineInterval: TimeInterval = 5,
        output: @escaping (String) -> Void = { Terminal.standardError.write($0) }
    ) {
        self.verbosity = verbosity
        self.terminal = terminal
        self.lineInterval = lineInterval
        self.output = output
    }

    /// A monitor for one trainer: its events come here, and Ctrl-C stops it.
    var monitor: TrainingMonitor {
        TrainingMonitor(report: { [self] in update($0) }, isInterrupted: { Interruption.requested })
    }

    /// Runs one phase of the command and reports it: "pretrained network: 12 s (best epoch 7 of 9)".
    func phase<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        phaseStart = Date()
        lastLine = .distantPast  // the first epoch's line shows at once, then one per interval
        lastProgress = nil
        let result = try body()
        clearBar()
        var line = "\(name): \(clock(Date().timeIntervalSince(phaseStart)))"
        if let progress = lastProgress {
            line += ", \(progress.epoch) epoch\(progress.epoch == 1 ? "" : "s")"
            if let best = progress.bestValidationScore { line += String(format: ", best validation %.4f", best) }
        }
        if Interruption.requested { line += " " + terminal.styled("(interrupted)", .yellow) }
        output(line + "\n")
        return result
    }

    /// A message between phases (what is being evaluated, say); not shown with --quiet.
    func note(_ message: String) {
        guard verbosity == .normal else { return }
        clearBar()
        output(message + "\n")
    }

    func update(_ progress: TrainingProgress) {
        lastProgress = progress
        guard verbosity == .normal else { return }
        let now = Date()
        let elapsed = now.timeIntervalSince(phaseStart)
        let total = progress.epochs * progress.stepsPerEpoch
        let done = (progress.epoch - 1) * progress.stepsPerEpoch + progress.step
        let remaining = done > 0 ? elapsed / Double(done) * Double(max(total - done, 0)) : 0
        var status = String(
            format: "%@ epoch %d/%d, loss %.4f", progress.phase, progress.epoch, progress.epochs, progress.trainingLoss)
        if let best = progress.bestValidationScore { status += String(format: ", best validation %.4f", best) }
        status += ", \(clock(elapsed)) elapsed, at most \(clock(remaining)) left"
        if terminal.isInteractive {
            let width = 20
            let filled = min(width, width * progress.step / max(progress.stepsPerEpoch, 1))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            output("\r\u{1B}[K[\(bar)] \(status)")
            barShown = true
            if progress.endsEpoch, let score = progress.validationScore {
                let best = progress.isNewBest ? " " + terminal.styled("(best)", .green) : ""
                output(String(format: "\r\u{1B}[K  epoch %d: validation %.4f", progress.epoch, score) + best + "\n")
                barShown = false
            }
        } else if progress.endsEpoch, now.timeIntervalSince(lastLine) >= lineInterval {
            lastLine = now
            var line = status
            if let score = progress.validationScore {
                line += String(format: "; epoch validation %.4f%@", score, progress.isNewBest ? " (best)" : "")
            }
            output(line + "\n")
        }
    }

    private func clearBar() {
        if barShown {
            output("\r\u{1B}[K")
            barShown = false
        }
    }
}
