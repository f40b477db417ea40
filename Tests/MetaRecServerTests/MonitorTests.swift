import Foundation
import Testing

@testable import MetaRecServer

/// The admin status's request figures: counts and quantiles of the last minute from per-second
/// histograms, good to one bin (5 %), older seconds left out.
@Suite struct MonitorTests {
    @Test func quantilesOfTheLastMinuteAreGoodToOneBin() {
        let monitor = Monitor()
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        // 1..100 ms spread over 50 seconds; p50 is 50 ms, p99 99 ms.
        for index in 1...100 {
            monitor.record(seconds: Double(index) / 1000, at: start.addingTimeInterval(Double(index / 2)))
        }
        let minute = monitor.lastMinute(now: start.addingTimeInterval(55))
        #expect(minute.count == 100)
        #expect(
            minute.p50! >= 51 * 0.999 && minute.p50! <= 51 * 1.05,
            "the 51st smallest of 100, to one bin: \(minute.p50!)")
        #expect(minute.p99! >= 100 * 0.999 && minute.p99! <= 100 * 1.05, "\(minute.p99!)")
        // At 85 s the window starts at second 26: requests 52 to 100 remain.
        let later = monitor.lastMinute(now: start.addingTimeInterval(85))
        #expect(later.count == 49)
        #expect(monitor.requests == 100)
        #expect(monitor.lastMinute(now: start.addingTimeInterval(500)).count == 0)
    }

    @Test func aSlotIsReusedForALaterSecond() {
        let monitor = Monitor()
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        monitor.record(seconds: 0.001, at: start)
        monitor.record(seconds: 0.002, at: start.addingTimeInterval(60))  // the same slot, a minute on
        #expect(monitor.lastMinute(now: start.addingTimeInterval(60)).count == 1)
    }
}
