import Testing

@testable import MetaRecModels

@Suite struct EarlyStoppingTests {
    @Test func keepsTheBestAndStopsAfterPatience() {
        var stopping = EarlyStopping(patience: 2, initial: 1.0)
        let worse = stopping.record(1.2)
        let better = stopping.record(0.9)
        #expect(!worse && better && stopping.bestScore == 0.9)
        let notBetter = stopping.record(0.95)
        #expect(!notBetter && !stopping.shouldStop)
        let tie = stopping.record(0.9)  // a tie is not an improvement
        #expect(!tie && stopping.shouldStop)
    }

    @Test func withoutAnInitialScoreTheFirstEpochIsBest() {
        var stopping = EarlyStopping(patience: 1)
        #expect(stopping.bestScore == nil)
        let first = stopping.record(3)
        #expect(first && stopping.bestScore == 3)
    }
}
