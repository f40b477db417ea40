import Testing

@testable import MetaRecData

@Suite struct UnseenValueTests {
    static func seconds(year: Int) -> Double { Double(secondsOf(year: year)) }

    /// Training items from 1990, 1992 and 1995; a new item from 1999, one from 1980, one from 1993
    /// (between known years) and one without a date.
    func years(_ unseen: UnseenOrderedValue) -> RawFeatures {
        let values: [Double?] = [1990, 1992, 1995, 1999, 1980, 1993, nil].map { $0.map { Self.seconds(year: $0) } }
        return RawFeatures(columns: [
            RawFeatureColumn(
                name: "year", spec: FeatureSpec(kind: .date, unseenDates: unseen), values: .numbers(values))
        ])
    }

    @Test func datesPastTheTrainingRangeTakeTheNearestKnownYear() {
        let raw = years(.nearestKnown)
        let table = FeatureEncoder.fit(raw, on: [0, 1, 2]).encode(raw, count: 7)
        let row = { (entity: Int) in table.indices(field: 0, entity: entity).first! }
        #expect([row(0), row(1), row(2)] == [1, 2, 3])
        #expect(row(3) == row(2))  // 1999 → 1995, not "unknown"
        #expect(row(4) == row(0))  // 1980 → 1990
        #expect(row(5) == row(1))  // 1993 → 1992 (nearer than 1995)
        #expect(row(6) == 0)  // missing stays unknown
    }

    @Test func unknownPolicyKeepsTheOldEncoding() {
        let raw = years(.unknown)
        let table = FeatureEncoder.fit(raw, on: [0, 1, 2]).encode(raw, count: 7)
        #expect((3...6).map { table.indices(field: 0, entity: $0).first! } == [0, 0, 0, 0])
    }

    @Test func nearestBreaksTiesTowardsTheLaterValue() {
        #expect(FeatureEncoder.nearest(1992, in: [1990, 1994]) == 1994)
        #expect(FeatureEncoder.nearest(5, in: []) == nil)
        #expect(FeatureEncoder.nearest(2000, in: [1990]) == 1990)
    }
}
