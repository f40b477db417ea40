import ArgumentParser
import Foundation
import Testing

@testable import metarec

/// `evaluate --exploration-replay` and `recommend --exploration` refuse bad values at parse time.
@Suite struct ExplorationOptionTests {
    @Test(arguments: [
        (["evaluate", "--exploration-replay", "--exploration-strengths", "1,-2"], "--exploration-strengths"),
        (["evaluate", "--exploration-replay", "--exploration-strengths", "x"], "--exploration-strengths"),
        (["evaluate", "--exploration-replay", "--exploration-rounds", "0"], "--exploration-rounds"),
        (["evaluate", "--exploration-replay", "--exploration-per-round=-1"], "--exploration-per-round"),
        (["evaluate", "--no-table"], "--exploration-replay"),
        (["recommend", "--model", "m.safetensors", "--exploration", "epsilon"], "'epsilon'"),
        (["recommend", "--model", "m.safetensors", "--exploration", "ucb", "--exploration-strength=-1"], "strength"),
    ])
    func badOptionsFailAtParseTime(arguments: [String], mentions: String) {
        let message = parseError(arguments)
        #expect(message?.contains(mentions) == true, "\(arguments): \(String(describing: message))")
    }

    @Test func goodOptionsParse() {
        #expect(
            parseError(["evaluate", "--no-table", "--exploration-replay", "--exploration-strengths", "0,1.5"]) == nil)
        #expect(
            parseError([
                "recommend", "--model", "m.safetensors", "--exploration", "thompson", "--exploration-strength", "2",
            ])
                == nil)
    }
}
