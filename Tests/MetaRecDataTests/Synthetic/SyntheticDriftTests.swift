import Foundation
import MetaRecCore
import Testing

@testable import MetaRecData

/// The drift stream of issue 20: users arrive over time and their tastes shift, so the online
/// stage of the meta parameter partition has something to learn.
@Suite struct SyntheticDriftTests {
    static func generate(seed: UInt64, drift: SyntheticDrift? = SyntheticDrift()) -> SyntheticDataset {
        BuiltInData.synthetic(seed: seed, users: 600, items: 400, targetInteractions: 24_000, drift: drift)
    }

    @Test func theDriftStreamIsDeterministicPerSeed() {
        let first = Self.generate(seed: 3)
        let again = Self.generate(seed: 3)
        let other = Self.generate(seed: 4)
        #expect(first.dataset.interactions == again.dataset.interactions)
        #expect(first.groundTruth.userArchetype == again.groundTruth.userArchetype)
        #expect(first.groundTruth.archetypeDrift == again.groundTruth.archetypeDrift)
        #expect(first.dataset.interactions != other.dataset.interactions)
    }

    /// Users arrive in id order (up to their short rating spans): every user of the first third
    /// rates first before every user of the last third.
    @Test func usersArriveInIdOrder() {
        let data = Self.generate(seed: 0).dataset
        var firstSeen = [Int64](repeating: .max, count: data.userCount)
        for x in data.interactions { firstSeen[Int(x.user)] = min(firstSeen[Int(x.user)], x.timestamp) }
        let third = data.userCount / 3
        let early = firstSeen[..<third].filter { $0 != .max }
        let late = firstSeen[(data.userCount - third)...].filter { $0 != .max }
        #expect(early.count > third * 9 / 10 && late.count > third * 9 / 10)
        #expect(early.max()! < late.min()!)
    }

    /// The largest change, over genres, of the mean observed rating between the earliest and the
    /// latest third of users (only observed ratings: what a model could see).
    static func genreShift(_ data: SyntheticDataset) -> Double {
        let d = data.dataset
        let genres = data.groundTruth.genres.count
        var sums = [[Double]](repeating: [Double](repeating: 0, count: genres), count: 2)
        var counts = sums
        for x in d.interactions {
            let third = Int(x.user) * 3 / d.userCount
            guard third != 1 else { continue }
            let period = third == 0 ? 0 : 1
            for g in data.groundTruth.itemGenres[Int(x.item)] {
                sums[period][g] += Double(x.value)
                counts[period][g] += 1
            }
        }
        return (0..<genres).filter { counts[0][$0] >= 200 && counts[1][$0] >= 200 }.map {
            abs(sums[0][$0] / counts[0][$0] - sums[1][$0] / counts[1][$0])
        }.max() ?? 0
    }

    /// Early and late users rate genres differently with drift, far more than the same sizes
    /// without drift (where the users of the two thirds differ only by chance), and the
    /// archetype mix changes between the two periods.
    @Test func theStreamActuallyDrifts() {
        for seed: UInt64 in [0, 1] {
            let drifting = Self.genreShift(Self.generate(seed: seed))
            let still = Self.genreShift(Self.generate(seed: seed, drift: nil))
            #expect(drifting > 0.25, "seed \(seed): largest genre shift \(drifting)")
            #expect(drifting > 2 * still, "seed \(seed): \(drifting) with drift, \(still) without")

            let truth = Self.generate(seed: seed).groundTruth
            let users = truth.userArchetype.count
            func share(_ range: Range<Int>) -> [Double] {
                (0..<truth.archetypeCount).map { a in
                    Double(range.filter { truth.userArchetype[$0] == a }.count) / Double(range.count)
                }
            }
            let early = share(0..<(users / 3))
            let late = share((users - users / 3)..<users)
            let totalVariation = zip(early, late).reduce(0) { $0 + abs($1.0 - $1.1) } / 2
            #expect(totalVariation > 0.2, "seed \(seed): archetype mix moved by \(totalVariation)")
        }
    }

    /// Without drift the generator makes no drift draws: no arrival times, no preference path.
    @Test func theDefaultDataHasNoDrift() {
        let data = BuiltInData.synthetic(seed: 0, users: 200, items: 100, targetInteractions: 4_000)
        #expect(data.groundTruth.userArrival.isEmpty && data.groundTruth.archetypeDrift.isEmpty)
        #expect(!data.dataset.name.contains("drift"))
    }

    /// Cut by arrival, every meta-training user arrived before every validation user, and they
    /// before every new user.
    @Test func theArrivalSplitPutsTheLatestUsersLast() throws {
        let data = Self.generate(seed: 0).dataset
        let split = try ProtocolSplit(dataset: data, options: SplitOptions(seed: 5, userOrder: .arrival))
        var firstSeen = [Int64](repeating: .max, count: data.userCount)
        for x in data.interactions { firstSeen[Int(x.user)] = min(firstSeen[Int(x.user)], x.timestamp) }
        func range(_ users: [Int32]) -> ClosedRange<Int64> {
            let times = users.map { firstSeen[Int($0)] }
            return times.min()!...times.max()!
        }
        let existing = range(split.existingUsers)
        let validation = range(split.validationUsers)
        let new = range(split.newUsers.filter { firstSeen[Int($0)] != .max })
        #expect(existing.upperBound <= validation.lowerBound && validation.upperBound <= new.lowerBound)
        #expect(split.existingUsers.count == data.userCount * 7 / 10)
        let shuffled = try ProtocolSplit(dataset: data, options: SplitOptions(seed: 5))
        #expect(shuffled.existingUsers != split.existingUsers)
    }

    /// What `metarec data synthetic --drift` writes reads back as the same ratings, and
    /// arrival.csv holds every rating once, in time order.
    @Test func theDriftStreamRoundTripsThroughDisk() throws {
        let data = Self.generate(seed: 2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "drift-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try data.writeMovieLens1M(to: directory)
        try data.writeArrivalOrder(to: directory.appendingPathComponent("arrival.csv"))
        let read = try DataSource.detect(directory.path).load()
        #expect(read.interactions.count == data.dataset.interactions.count)
        let lines = try String(contentsOf: directory.appendingPathComponent("arrival.csv"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.first == "user_id,item_id,rating,timestamp")
        let times = lines.dropFirst().map { Int64($0.split(separator: ",")[3])! }
        #expect(times.count == data.dataset.interactions.count)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
    }
}
