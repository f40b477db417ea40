import Foundation
import MetaRecModels
import Testing

@testable import metarec

/// What a person sees while a command works: a bar only on a terminal, a few lines in a log.
@Suite struct ProgressOutputTests {
    func events(epochs: Int, steps: Int) -> [TrainingProgress] {
        (1...epochs).flatMap { epoch in
            (1...steps).map { step in
                TrainingProgress(
                    phase: "MAML", epoch: epoch, epochs: epochs, step: step, stepsPerEpoch: steps, trainingLoss: 0.5,
                    validationScore: step == steps ? 0.8 : nil, bestValidationScore: 0.8, isNewBest: step == steps)
            }
        }
    }

    @Test func aLogGetsAtMostOneLinePerIntervalAndNoBar() {
        var text = ""
        let reporter = ProgressReporter(
            verbosity: .normal, terminal: Terminal(isInteractive: false, usesColour: false),
            lineInterval: 3600, output: { text += $0 })
        reporter.phase("MAML") { for event in events(epochs: 20, steps: 50) { reporter.update(event) } }
        let lines = text.split(separator: "\n")
        #expect(
            lines.count == 2, "one progress line (then the interval holds the rest back) and the phase line: \(lines)")
        #expect(!text.contains("\r") && !text.contains("\u{1B}"), "no bar redraws and no colour in a log")
        #expect(lines.last!.hasPrefix("MAML: ") && lines.last!.contains("20 epochs"))
    }

    @Test func quietSaysOneLinePerPhase() {
        var text = ""
        let reporter = ProgressReporter(
            verbosity: .quiet, terminal: Terminal(isInteractive: true, usesColour: true),
            lineInterval: 0, output: { text += $0 })
        reporter.phase("pretrained network") { for event in events(epochs: 3, steps: 4) { reporter.update(event) } }
        reporter.note("evaluating")
        #expect(text.split(separator: "\n").count == 1 && text.hasPrefix("pretrained network: "))
    }

    @Test func aTerminalGetsABarRedrawnInPlace() {
        var text = ""
        let reporter = ProgressReporter(
            verbosity: .normal, terminal: Terminal(isInteractive: true, usesColour: false),
            output: { text += $0 })
        reporter.phase("MAML") { for event in events(epochs: 2, steps: 3) { reporter.update(event) } }
        #expect(text.components(separatedBy: "\r").count > 6, "each step redraws the bar")
        #expect(text.contains("epoch 2: validation 0.8000"))
    }

    @Test func colourOnlyWhenAsked() {
        #expect(Terminal(isInteractive: true, usesColour: false).styled("error:", .red) == "error:")
        #expect(Terminal(isInteractive: true, usesColour: true).styled("error:", .red) == "\u{1B}[31merror:\u{1B}[0m")
    }
}
