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

    /// The trend draws come from their own stream: with trend scale 0 the same users rate the
    /// same items at the same times as with the trend, under the same ground truth, and only
    /// rating values move; scale 0 leaves no trend and no trend in the description.
    @Test func theTrendMovesOnlyTheRatingValues() {
        var flat = SyntheticDrift()
        flat.trendScale = 0
        let trending = Self.generate(seed: 1)
        let still = Self.generate(seed: 1, drift: flat)
        #expect(!trending.groundTruth.genreTrend.isEmpty && still.groundTruth.genreTrend.isEmpty)
        #expect(!flat.description.contains("trend") && SyntheticDrift().description.contains("trend"))
        let a = trending.dataset.interactions
        let b = still.dataset.interactions
        #expect(
            a.map { [Int64($0.user), Int64($0.item), $0.timestamp] }
                == b.map { [Int64($0.user), Int64($0.item), $0.timestamp] })
        #expect(trending.groundTruth.userArchetype == still.groundTruth.userArchetype)
        #expect(trending.groundTruth.archetypeDrift == still.groundTruth.archetypeDrift)
        #expect(trending.groundTruth.userArrival == still.groundTruth.userArrival)
        let changed = zip(a, b).filter { $0.value != $1.value }.count
        #expect(changed > a.count / 10, "\(changed) of \(a.count) ratings changed")
        // Scale 0 and a trend-free latent rating agree at every time.
        let truth = still.groundTruth
        #expect(truth.latentRating(user: 3, item: 5, time: 0.9) == truth.latentRating(user: 3, item: 5, time: 0.1))
    }

    /// Between the period's first and last fifth, each genre's mean observed rating moves with the
    /// sampled trend of that genre. The stream without the trend (same users, items, times and
    /// noise) is subtracted, which removes the straight drift and the change of users.
    @Test func genreRatingsFollowTheSampledTrend() {
        var flat = SyntheticDrift()
        flat.trendScale = 0
        let trending = BuiltInData.synthetic(
            seed: 2, users: 400, items: 300, targetInteractions: 8_000, drift: SyntheticDrift())
        let still = BuiltInData.synthetic(seed: 2, users: 400, items: 300, targetInteractions: 8_000, drift: flat)
        let truth = trending.groundTruth
        let genres = truth.genres.count
        // [window][genre]: sums of the rating with and without trend, of the trend, and counts.
        var withTrend = [[Double]](repeating: [Double](repeating: 0, count: genres), count: 2)
        var withoutTrend = withTrend
        var sampled = withTrend
        var counts = withTrend
        for (x, y) in zip(trending.dataset.interactions, still.dataset.interactions) {
            let time = truth.periodFraction(timestamp: x.timestamp)
            guard time < 0.2 || time > 0.8 else { continue }
            let window = time < 0.2 ? 0 : 1
            for g in truth.itemGenres[Int(x.item)] {
                withTrend[window][g] += Double(x.value)
                withoutTrend[window][g] += Double(y.value)
                sampled[window][g] += Double(truth.trend(genre: g, time: time))
                counts[window][g] += 1
            }
        }
        let kept = (0..<genres).filter { counts[0][$0] >= 30 && counts[1][$0] >= 30 }
        func change(_ sums: [[Double]], _ g: Int) -> Double { sums[1][g] / counts[1][g] - sums[0][g] / counts[0][g] }
        let observed = kept.map { change(withTrend, $0) - change(withoutTrend, $0) }
        let trend = kept.map { change(sampled, $0) }
        #expect(kept.count >= 6, "only \(kept.count) genres rated often enough in both windows")
        let correlation = Self.correlation(observed, trend)
        #expect(
            correlation > 0.8, "correlation \(correlation) between rating change \(observed) and trend change \(trend)")
    }

    static func correlation(_ x: [Double], _ y: [Double]) -> Double {
        let mx = x.reduce(0, +) / Double(x.count)
        let my = y.reduce(0, +) / Double(y.count)
        let sxy = zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sxx = x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        let syy = y.reduce(0) { $0 + ($1 - my) * ($1 - my) }
        return sxy / (sxx * syy).squareRoot()
    }

    /// The trend is an AR(1) path scaled by `trendScale`: doubling the scale doubles every value
    /// of the same path.
    @Test func theTrendScalesWithTrendScale() {
        var double = SyntheticDrift()
        double.trendScale = 2
        let one = BuiltInData.synthetic(seed: 4, users: 50, items: 40, targetInteractions: 500, drift: SyntheticDrift())
        let two = BuiltInData.synthetic(seed: 4, users: 50, items: 40, targetInteractions: 500, drift: double)
        #expect(one.groundTruth.genreTrend.count == one.groundTruth.genres.count)
        #expect(one.groundTruth.genreTrend.allSatisfy { $0.count == SyntheticDrift().trendSteps + 1 })
        #expect(
            zip(one.groundTruth.genreTrend.joined(), two.groundTruth.genreTrend.joined()).allSatisfy { 2 * $0 == $1 })
        // Linear between grid points: halfway between two steps is their mean.
        let path = one.groundTruth.genreTrend[0]
        let halfway = (Float(3) + 0.5) / Float(path.count - 1)
        #expect(abs(one.groundTruth.trend(genre: 0, time: halfway) - (path[3] + path[4]) / 2) < 1e-5)
    }

    /// The trend is the Ornstein-Uhlenbeck process sampled on its grid: the regression of each
    /// step on the one before recovers exp(−step / correlation time), and the values' variance is
    /// near the stationary trendScale².
    @Test func theTrendIsAnOrnsteinUhlenbeckPath() {
        var drift = SyntheticDrift()
        drift.trendSteps = 480
        drift.trendScale = 1.5
        let path = BuiltInData.synthetic(seed: 5, users: 50, items: 40, targetInteractions: 500, drift: drift)
            .groundTruth.genreTrend
        var product = 0.0
        var square = 0.0
        for genre in path {
            for (a, b) in zip(genre, genre.dropFirst()) {
                product += Double(a) * Double(b)
                square += Double(a) * Double(a)
            }
        }
        let persistence = exp(-1 / (Double(drift.trendSteps) * Double(drift.trendCorrelation)))
        #expect(abs(product / square - persistence) < 0.01, "persistence \(product / square), expected \(persistence)")
        let values = path.joined().map(Double.init)
        let variance = values.reduce(0) { $0 + $1 * $1 } / Double(values.count)
        let stationary = Double(drift.trendScale * drift.trendScale)
        #expect(variance > 0.5 * stationary && variance < 1.6 * stationary, "variance \(variance)")
    }

    /// Without drift the generator makes no drift draws: no arrival times, no preference path.
    @Test func theDefaultDataHasNoDrift() {
        let data = BuiltInData.synthetic(seed: 0, users: 200, items: 100, targetInteractions: 4_000)
        #expect(data.groundTruth.userArrival.isEmpty && data.groundTruth.archetypeDrift.isEmpty)
        #expect(data.groundTruth.genreTrend.isEmpty)
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
