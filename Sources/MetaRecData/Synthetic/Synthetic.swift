import Foundation
import MetaRecCore

/// The planted structure of a synthetic data set, so a test can check that a model learned it.
///
/// A user's latent rating of an item is
///
///     globalMean + archetypeOffset[a] + userBias[u] + itemQuality[i] + directorEffect[d(i)]
///       + Σ_{g ∈ genres(i)} (archetypePreference[a][g] + userTaste[u][g] + trend[g](t)) · genreScale / √|genres(i)|
///
/// where a is the user's archetype and t the rating's time (the trend is zero without drift's
/// shared trend); the observed rating is round(latent + N(0, noise²))
/// clipped to 1...5 (then thresholded for implicit feedback).
public struct SyntheticGroundTruth: Sendable {
    public var genres: [String]
    public var archetypeCount: Int
    /// Per user: the archetype (0..<archetypeCount) driving their genre tastes.
    public var userArchetype: [Int]
    /// archetypeCount × genres.count
    public var archetypePreference: [[Float]]
    public var archetypeOffset: [Float]
    public var userBias: [Float]
    /// users × genres, row-major: per-user deviation from the archetype's tastes.
    public var userTaste: [Float]
    public var itemQuality: [Float]
    public var itemDirector: [Int]
    public var directorEffect: [Float]
    /// Per item: genre indices.
    public var itemGenres: [[Int]]
    public var globalMean: Float
    public var genreScale: Float
    /// Standard deviation of the per-rating noise.
    public var noise: Float
    public var feedback: FeedbackKind
    /// With drift: per user, when they arrived, as a fraction of the rating period (0...1);
    /// empty without drift.
    public var userArrival: [Float] = []
    /// With drift: archetypeCount × genres.count, how far each archetype's preferences have
    /// moved by the period's end; a user who arrives at fraction t has the archetype's
    /// preferences plus t times this. Empty without drift.
    public var archetypeDrift: [[Float]] = []
    /// With drift's shared trend: genres × (steps + 1), the trend's value on an even grid over the
    /// rating period (already scaled by `SyntheticDrift.trendScale`). Empty without it.
    public var genreTrend: [[Float]] = []
    /// The rating period, in seconds since 1970: the trend's time 0 and 1.
    public var periodStart: Int64 = 0
    public var periodEnd: Int64 = 1

    /// Where `timestamp` falls in the rating period, as a fraction clamped to 0...1.
    public func periodFraction(timestamp: Int64) -> Float {
        let fraction = Double(timestamp - periodStart) / Double(max(periodEnd - periodStart, 1))
        return Float(min(max(fraction, 0), 1))
    }

    /// The shared trend of `genre` at `time` (a fraction of the period), linear between grid
    /// points; 0 without a trend.
    public func trend(genre: Int, time: Float) -> Float {
        guard !genreTrend.isEmpty else { return 0 }
        let path = genreTrend[genre]
        guard path.count > 1 else { return path.first ?? 0 }
        let steps = path.count - 1
        let position = min(max(time, 0), 1) * Float(steps)
        let step = min(Int(position), steps - 1)
        let weight = position - Float(step)
        return path[step] * (1 - weight) + path[step + 1] * weight
    }

    /// The user's archetype's genre preference, where it was when the user arrived.
    public func preference(user: Int, genre: Int) -> Float {
        let a = userArchetype[user]
        guard !archetypeDrift.isEmpty else { return archetypePreference[a][genre] }
        return archetypePreference[a][genre] + userArrival[user] * archetypeDrift[a][genre]
    }

    /// The latent (noise-free, unrounded) rating at `time`, a fraction of the rating period (only
    /// the shared trend depends on it).
    public func latentRating(user: Int, item: Int, time: Float = 0) -> Float {
        let a = userArchetype[user]
        let g = itemGenres[item]
        var taste: Float = 0
        let base = user * genres.count
        for k in g { taste += preference(user: user, genre: k) + userTaste[base + k] }
        // Added after the sum so that without a trend the result is bit for bit as before.
        if !genreTrend.isEmpty { for k in g { taste += trend(genre: k, time: time) } }
        let scale = g.isEmpty ? 0 : genreScale / Float(g.count).squareRoot()
        return globalMean + archetypeOffset[a] + userBias[user] + itemQuality[item] + directorEffect[itemDirector[item]]
            + taste * scale
    }

    /// E[observed value | user, item]: the expected rating after noise, rounding and clipping,
    /// or for implicit feedback the probability of a positive. The best any model can predict.
    public func expectedRating(user: Int, item: Int, time: Float = 0) -> Float {
        let latent = Double(latentRating(user: user, item: item, time: time))
        let sigma = Double(noise)
        // P(round(latent + e) >= k), k = 2...5, i.e. latent + e >= k - 0.5.
        func atLeast(_ k: Int) -> Double {
            if k <= 1 { return 1 }
            if k > 5 { return 0 }
            return 0.5 * erfc((Double(k) - 0.5 - latent) / (sigma * 2.0.squareRoot()))
        }
        switch feedback {
        case .explicit:
            return Float(1 + (2...5).reduce(0.0) { $0 + atLeast($1) })
        case .implicit(let threshold):
            return Float(atLeast(Int(Double(threshold).rounded(.up))))
        }
    }
}

/// A generated data set with its ground truth.
public struct SyntheticDataset: Sendable {
    public var dataset: Dataset
    public var groundTruth: SyntheticGroundTruth
}

/// What the items' features show of their planted taste.
public enum SyntheticItemContent: Sendable, Equatable {
    /// Genres, director, year and decade as features (the default).
    case features
    /// One dense vector per item, a fixed random projection of its genres (each scaled as in
    /// the rating), quality and director effect plus a little noise; no categorical feature
    /// carries the taste. Proves the vector path of item content (issue 12).
    case vectorOnly(dimension: Int)
}

/// Drift over the rating period, for a stream where the online stage of the meta parameter
/// partition (Zhao et al., arXiv 1912.04108) has something to learn (issue 20). Users arrive
/// across the period in user-id order (up to a few weeks: each rating span ends before the
/// period does) and each rates for a short span; the archetype mix tilts
/// and each archetype's genre preferences move along a straight path from the period's start to
/// its end; more items are released during the period, so new items keep arriving.
///
/// On top, a shared trend: each genre's appeal to everyone wanders over the period like topics
/// of the day, seasons or fashions (an Ornstein-Uhlenbeck path). A well-trained start follows the
/// straight drift from a user's own 10 support ratings; the trend it cannot: it is the same for
/// everyone at a given time, so hundreds of streaming users reveal the current trend precisely
/// while one user's support reveals it only noisily, mixed with their own taste, and the offline
/// start has seen only the early period's trend.
public struct SyntheticDrift: Sendable, Equatable, CustomStringConvertible {
    /// How far each archetype's preferences move over the whole period, in units of the spread
    /// of the preferences themselves (N(0, 1)): half of the move is shared by all archetypes,
    /// half is the archetype's own.
    public var tasteShift: Float = 1.5
    /// The archetypes' log-weights tilt by up to ± this from the period's start to its end
    /// (0: the mix stays uniform).
    public var mixShift: Float = 2
    /// Share of items released during the rating period (0.2 without drift).
    public var releasedDuringPeriod: Float = 0.4
    /// Days over which one user rates, drawn uniformly from this range.
    public var userSpanDays: ClosedRange<Float> = 30...120
    /// Stationary standard deviation of each genre's shared trend, in units of the archetype
    /// preferences' spread (1: as large as an archetype's own preferences); 0 turns the trend
    /// off and leaves the stream exactly as it was without one.
    public var trendScale: Float = 1
    /// The trend's correlation time, as a fraction of the period (0.25: one year of four).
    public var trendCorrelation: Float = 0.25
    /// Grid steps the trend is sampled on over the period (48: monthly), linear in between.
    public var trendSteps: Int = 48

    public init() {}

    public var description: String {
        "taste-shift=\(tasteShift) mix-shift=\(mixShift) released-during-period=\(releasedDuringPeriod) user-span-days=\(userSpanDays.lowerBound)-\(userSpanDays.upperBound)"
            + (trendScale > 0
                ? " shared-trend: scale=\(trendScale) correlation=\(trendCorrelation) steps=\(trendSteps)" : "")
    }
}

/// Built-in data: the synthetic set the README's first command and the tests run on.
public enum BuiltInData {
    public static let syntheticGenres = [
        "Action", "Comedy", "Drama", "Romance", "Thriller", "Horror",
        "Sci-Fi", "Documentary", "Animation", "Crime", "Fantasy", "Musical",
    ]

    /// A synthetic data set with planted structure, deterministic in `seed`:
    /// - 6 user archetypes whose genre preferences drive ratings, plus per-user bias and
    ///   per-user taste deviations, item quality and a long-tailed "director" effect;
    /// - user features (age, gender, occupation) that predict the archetype only partly
    ///   (about half the time), so adapting to a user's ratings pays off;
    /// - log-normal user activity (many users with 13-40 ratings, some with hundreds) and
    ///   Zipf-like item popularity; timestamps increase per user over 2000-2003;
    /// - release dates from 1960 on, with about a fifth of the items released during the
    ///   rating period, so the newest items (the protocol's new items) get fewer ratings.
    ///
    /// `targetInteractions` is met exactly unless users run out of unrated released items.
    /// `drift` (nil by default, which leaves the data exactly as before) makes users arrive over
    /// time with shifting tastes; see ``SyntheticDrift``.
    public static func synthetic(
        seed: UInt64 = 0, users: Int = 1000, items: Int = 800, targetInteractions: Int = 60_000,
        feedback: FeedbackKind = .explicit, itemContent: SyntheticItemContent = .features,
        drift: SyntheticDrift? = nil
    ) -> SyntheticDataset {
        let userCount = max(users, 1)
        let itemCount = max(items, 2)
        let root = SeededGenerator(seed: seed).derived("synthetic")
        let genres = syntheticGenres
        let G = genres.count
        let archetypes = 6

        // Archetypes.
        var random = root.derived("archetypes")
        let preference = (0..<archetypes).map { _ in (0..<G).map { _ in random.normal(mean: 0, standardDeviation: 1) } }
        let offset = (0..<archetypes).map { _ in random.normal(mean: 0, standardDeviation: 0.2) }
        // Drift draws come from their own stream, so the data without drift is unchanged.
        var driftRandom = root.derived("drift")
        var archetypeDrift: [[Float]] = []
        var mixSlope: [Float] = []
        var arrival: [Float] = []
        if let drift {
            let shared = (0..<G).map { _ in driftRandom.normal(mean: 0, standardDeviation: 1) }
            archetypeDrift = (0..<archetypes).map { _ in
                (0..<G).map { g in
                    drift.tasteShift * (shared[g] + driftRandom.normal(mean: 0, standardDeviation: 1))
                        / Float(2).squareRoot()
                }
            }
            // Slopes evenly spread over -1...1 in a random order: some archetypes fade, others grow.
            var slots = Array(0..<archetypes)
            driftRandom.shuffle(&slots)
            mixSlope = slots.map { Float(2 * $0) / Float(max(archetypes - 1, 1)) - 1 }
            // Arrival fractions, sorted: user ids are in arrival order.
            arrival = (0..<userCount).map { _ in driftRandom.uniform() }.sorted()
        }
        // The shared trend: an AR(1) path per genre on an even grid (the Ornstein-Uhlenbeck
        // process sampled exactly), started from its stationary law. Its own stream, so the
        // stream without a trend is unchanged.
        var genreTrend: [[Float]] = []
        if let drift, drift.trendScale > 0 {
            var trendRandom = root.derived("drift").derived("trend")
            let steps = max(drift.trendSteps, 1)
            let persistence = exp(-1 / (Float(steps) * max(drift.trendCorrelation, 0)))
            let innovation = (1 - persistence * persistence).squareRoot()
            genreTrend = (0..<G).map { _ in
                var value = trendRandom.normal(mean: 0, standardDeviation: 1)
                var path = [drift.trendScale * value]
                for _ in 0..<steps {
                    value = persistence * value + innovation * trendRandom.normal(mean: 0, standardDeviation: 1)
                    path.append(drift.trendScale * value)
                }
                return path
            }
        }
        let releasedDuringPeriod = drift?.releasedDuringPeriod ?? 0.2

        // Items: genres (skewed popularity), long-tailed directors, quality, release dates.
        random = root.derived("items")
        let genreWeights = (0..<G).map { 1 / pow(Double($0 + 1), 0.7) }
        let directorCount = max(10, itemCount / 4)
        let directorWeights = (0..<directorCount).map { 1 / pow(Double($0 + 1), 1.1) }
        let directorCumulative = cumulative(directorWeights)
        let directorEffect = (0..<directorCount).map { _ in random.normal(mean: 0, standardDeviation: 0.25) }
        let periodStart = secondsOf(year: 2000)
        let periodEnd = secondsOf(year: 2004)
        var itemGenres: [[Int]] = []
        var itemDirector: [Int] = []
        var quality: [Float] = []
        var release: [Int64] = []
        for _ in 0..<itemCount {
            let count = 1 + (random.uniform() < 0.45 ? 1 : 0) + (random.uniform() < 0.15 ? 1 : 0)
            var chosen: [Int] = []
            let genreCumulative = cumulative(genreWeights)
            while chosen.count < count {
                let g = pick(genreCumulative, &random)
                if !chosen.contains(g) { chosen.append(g) }
            }
            itemGenres.append(chosen.sorted())
            itemDirector.append(pick(directorCumulative, &random))
            quality.append(random.normal(mean: 0, standardDeviation: 0.35))
            if random.uniform() < releasedDuringPeriod {
                release.append(periodStart + Int64(random.uniform() * Float(periodEnd - periodStart)))
            } else {
                let u = random.uniform()
                let year = 1999 - Int(40 * u * u)
                release.append(secondsOf(year: year) + Int64(random.integer(below: 365 * 86_400)))
            }
        }
        // Zipf-like popularity over a random rank, favouring good items.
        var rank = Array(0..<itemCount)
        random.shuffle(&rank)
        // Recent releases are in demand (they still get fewer ratings: they exist for less time).
        let popularity = (0..<itemCount).map { i in
            pow(Double(rank[i] + 1), -0.8) * exp(0.6 * Double(quality[i])) * (release[i] >= periodStart ? 2 : 1)
        }

        // Users: archetype, features that hint at it, bias and taste deviations.
        random = root.derived("users")
        let ages: [ClosedRange<Int>] = [12...17, 18...24, 25...34, 35...44, 45...49, 50...55, 56...75]
        var archetype: [Int] = []
        var bias: [Float] = []
        var taste: [Float] = []
        var age: [Double?] = []
        var gender: [[String]] = []
        var occupation: [[String]] = []
        archetype.reserveCapacity(userCount)
        taste.reserveCapacity(userCount * G)
        for u in 0..<userCount {
            var a = random.integer(below: archetypes)
            if let drift {
                // The mix at the user's arrival: log-weight slope × mixShift × (t − ½).
                let weights = mixSlope.map { Double(exp($0 * drift.mixShift * (arrival[u] - 0.5))) }
                a = pick(cumulative(weights), &driftRandom)
            }
            archetype.append(a)
            bias.append(random.normal(mean: 0, standardDeviation: 0.35))
            for _ in 0..<G { taste.append(random.normal(mean: 0, standardDeviation: 0.35)) }
            let band = random.uniform() < 0.5 ? ages[(a * 2 + 1) % ages.count] : ages[random.integer(below: ages.count)]
            age.append(Double(band.lowerBound + random.integer(below: band.count)))
            let male = random.uniform() < (a % 2 == 0 ? 0.75 : 0.35)
            gender.append([male ? "M" : "F"])
            let job = random.uniform() < 0.4 ? (a * 3 + random.integer(below: 3)) % 21 : random.integer(below: 21)
            occupation.append([String(job)])
        }

        let truth = SyntheticGroundTruth(
            genres: genres, archetypeCount: archetypes, userArchetype: archetype, archetypePreference: preference,
            archetypeOffset: offset, userBias: bias, userTaste: taste, itemQuality: quality, itemDirector: itemDirector,
            directorEffect: directorEffect, itemGenres: itemGenres, globalMean: 3.6, genreScale: 0.8, noise: 0.6,
            feedback: feedback, userArrival: arrival, archetypeDrift: archetypeDrift, genreTrend: genreTrend,
            periodStart: periodStart, periodEnd: periodEnd)

        // Activity: log-normal, scaled to the target, between 8 and half the catalogue.
        random = root.derived("activity")
        let cap = max(1, min(itemCount / 2, 2_000))
        let floor = min(8, cap)
        let target = min(max(targetInteractions, 0), userCount * cap)
        let raw = (0..<userCount).map { _ in Double(exp(random.normal(mean: 0, standardDeviation: 1.0))) }
        let total = raw.reduce(0, +)
        var counts = raw.map { min(cap, max(floor, Int(($0 / total * Double(target)).rounded()))) }
        var deficit = target - counts.reduce(0, +)
        var guardSteps = 0
        while deficit != 0 && guardSteps < 50 * target + 1000 {
            let u = random.integer(below: userCount)
            if deficit > 0 && counts[u] < cap {
                counts[u] += 1
                deficit -= 1
            } else if deficit < 0 && counts[u] > floor {
                counts[u] -= 1
                deficit += 1
            }
            guardSteps += 1
        }

        // Ratings: per user, increasing timestamps; items drawn by popularity among those
        // already released at that time.
        let byRelease = (0..<itemCount).sorted { release[$0] != release[$1] ? release[$0] < release[$1] : $0 < $1 }
        let sortedRelease = byRelease.map { release[$0] }
        let releaseCumulative = cumulative(byRelease.map { popularity[$0] })
        random = root.derived("ratings")
        var interactions: [Interaction] = []
        interactions.reserveCapacity(target)
        var lastRater = [Int32](repeating: -1, count: itemCount)
        var block: [Interaction] = []
        for u in 0..<userCount {
            let n = counts[u]
            var span = Int64(random.uniform(30, 3 * 365) * 86_400)
            var start = periodStart + Int64(random.uniform() * Float(max(1, periodEnd - span - periodStart)))
            if let drift {
                span = Int64(
                    driftRandom.uniform(drift.userSpanDays.lowerBound, drift.userSpanDays.upperBound) * 86_400)
                start = periodStart + Int64(Double(arrival[u]) * Double(max(1, periodEnd - span - periodStart)))
            }
            var gaps = (0...n).map { _ in -log(Double(max(random.uniform(), 1e-7))) }
            let gapTotal = gaps.reduce(0, +)
            var clock = 0.0
            block.removeAll(keepingCapacity: true)
            for k in 0..<n {
                clock += gaps[k]
                let t = start + Int64(clock / gapTotal * Double(span))
                // Released items are a prefix of byRelease.
                var lo = 0
                var hi = itemCount
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if sortedRelease[mid] <= t { lo = mid + 1 } else { hi = mid }
                }
                let available = max(lo, 1)
                var item = -1
                for _ in 0..<64 {
                    let candidate = byRelease[pick(releaseCumulative, &random, prefix: available)]
                    if lastRater[candidate] != Int32(u) {
                        item = candidate
                        break
                    }
                }
                if item < 0 {
                    let from = random.integer(below: available)
                    for step in 0..<available where lastRater[byRelease[(from + step) % available]] != Int32(u) {
                        item = byRelease[(from + step) % available]
                        break
                    }
                }
                if item < 0 { continue }
                lastRater[item] = Int32(u)
                let latent = truth.latentRating(user: u, item: item, time: truth.periodFraction(timestamp: t))
                let rating = min(5, max(1, (latent + random.normal(mean: 0, standardDeviation: truth.noise)).rounded()))
                block.append(Interaction(user: Int32(u), item: Int32(item), value: feedback.map(rating), timestamp: t))
            }
            gaps.removeAll()
            block.sort { $0.timestamp != $1.timestamp ? $0.timestamp < $1.timestamp : $0.item < $1.item }
            interactions.append(contentsOf: block)
        }

        let directorNames = (0..<directorCount).map { "d\($0 + 1)" }
        let releaseSeconds = release.map { Optional(Double($0)) }
        let userFeatures = RawFeatures(columns: [
            RawFeatureColumn(
                name: "age", spec: FeatureSpec(kind: .numericBucketed, bucketBoundaries: MovieLens.ageBoundaries),
                values: .numbers(age)),
            RawFeatureColumn(name: "gender", spec: FeatureSpec(kind: .categorical), values: .categories(gender)),
            RawFeatureColumn(
                name: "occupation", spec: FeatureSpec(kind: .categorical), values: .categories(occupation)),
        ])
        var itemFeatures = RawFeatures(columns: [
            RawFeatureColumn(
                name: "genres", spec: FeatureSpec(kind: .multiCategorical),
                values: .categories(itemGenres.map { $0.map { genres[$0] } })),
            RawFeatureColumn(
                name: "director", spec: FeatureSpec(kind: .categorical),
                values: .categories(itemDirector.map { [directorNames[$0]] })),
            RawFeatureColumn(
                name: "year", spec: FeatureSpec(kind: .date, dateGranularity: .year), values: .numbers(releaseSeconds)),
            RawFeatureColumn(
                name: "decade", spec: FeatureSpec(kind: .date, dateGranularity: .decade),
                values: .numbers(releaseSeconds)),
        ])
        if case .vectorOnly(let dimension) = itemContent {
            itemFeatures = RawFeatures(columns: [
                contentVectors(truth, dimension: max(1, dimension), random: root.derived("content-vectors"))
            ])
        }
        let parameters =
            "synthetic-v1 seed=\(seed) users=\(userCount) items=\(itemCount) target=\(targetInteractions) feedback=\(feedback)"
            + (itemContent == .features ? "" : " content=\(itemContent)") + (drift.map { " drift: \($0)" } ?? "")
        let dataset = Dataset(
            name:
                "synthetic(seed: \(seed), users: \(userCount), items: \(itemCount), interactions: \(interactions.count)\(drift == nil ? "" : ", drift"))",
            feedback: feedback, userCount: userCount, itemCount: itemCount, interactions: interactions,
            userIDs: (1...userCount).map(String.init), itemIDs: (1...itemCount).map(String.init),
            itemTitles: (0..<itemCount).map { "\(SyntheticTitles.title($0)) (\(yearOf(seconds: release[$0])))" },
            itemReleaseTimes: release.map { Optional($0) }, rawUserFeatures: userFeatures,
            rawItemFeatures: itemFeatures,
            fileChecksums: ["(generated) " + parameters: Checksum.sha256(Array(parameters.utf8))])
        return SyntheticDataset(dataset: dataset, groundTruth: truth)
    }

    /// Per item: a fixed random projection of (genre indicators · genreScale / √|genres|, quality,
    /// director effect) to `dimension` floats, plus N(0, 0.05²) noise.
    static func contentVectors(_ truth: SyntheticGroundTruth, dimension: Int, random: SeededGenerator)
        -> RawFeatureColumn
    {
        var random = random
        let inputs = truth.genres.count + 2
        let projection = (0..<(inputs * dimension)).map { _ in
            random.normal(mean: 0, standardDeviation: 1 / Float(inputs).squareRoot())
        }
        var values: [Float] = []
        values.reserveCapacity(truth.itemGenres.count * dimension)
        for item in truth.itemGenres.indices {
            var input = [Float](repeating: 0, count: inputs)
            let genres = truth.itemGenres[item]
            for g in genres { input[g] = truth.genreScale / Float(genres.count).squareRoot() }
            input[inputs - 2] = truth.itemQuality[item]
            input[inputs - 1] = truth.directorEffect[truth.itemDirector[item]]
            for j in 0..<dimension {
                var sum: Float = 0
                for k in 0..<inputs { sum += input[k] * projection[k * dimension + j] }
                values.append(sum + random.normal(mean: 0, standardDeviation: 0.05))
            }
        }
        return RawFeatureColumn(
            name: "content", spec: FeatureSpec(kind: .dense),
            values: .vectors(dimension: dimension, values: values, present: truth.itemGenres.map { _ in true }))
    }

    static func cumulative(_ weights: [Double]) -> [Double] {
        var total = 0.0
        return weights.map {
            total += $0
            return total
        }
    }

    /// An index drawn with probability proportional to its weight, among the first `prefix`.
    @inline(__always)
    static func pick(_ cumulative: [Double], _ random: inout SeededGenerator, prefix: Int? = nil) -> Int {
        let n = prefix ?? cumulative.count
        let r = Double(random.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) * cumulative[n - 1]
        var lo = 0
        var hi = n - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] <= r { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

extension SyntheticDataset {
    /// Writes every rating in time order (ties by user, then item) as CSV with a header,
    /// `user_id,item_id,rating,timestamp`, ids as in ratings.dat: the stream a live learner can
    /// be fed in arrival order.
    public func writeArrivalOrder(to file: URL) throws {
        let d = dataset
        let ordered = d.interactions.sorted {
            ($0.timestamp, $0.user, $0.item) < ($1.timestamp, $1.user, $1.item)
        }
        var text = "user_id,item_id,rating,timestamp\n"
        text.reserveCapacity(ordered.count * 24)
        for x in ordered {
            text += "\(d.userIDs[Int(x.user)]),\(d.itemIDs[Int(x.item)]),\(Int(x.value)),\(x.timestamp)\n"
        }
        try Data(text.utf8).write(to: file)
    }

    /// Writes the data set in MovieLens 1M's layout (ratings.dat, users.dat, movies.dat,
    /// "::"-separated), e.g. for the reading benchmark. Ages are written as ML-1M age codes.
    public func writeMovieLens1M(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let d = dataset
        var out: [UInt8] = []
        out.reserveCapacity(d.interactions.count * 26)
        func int(_ v: Int64) {
            if v < 0 { out.append(0x2D) }
            var m = v.magnitude
            var digits:
                (
                    UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                    UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
                ) =
                    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var n = 0
            withUnsafeMutableBytes(of: &digits) { buffer in
                repeat {
                    buffer[n] = UInt8(48 + m % 10)
                    m /= 10
                    n += 1
                } while m > 0
                while n > 0 {
                    n -= 1
                    out.append(buffer[n])
                }
            }
        }
        let sep: [UInt8] = [0x3A, 0x3A]
        for x in d.interactions {
            out.append(contentsOf: d.userIDs[Int(x.user)].utf8)
            out += sep
            out.append(contentsOf: d.itemIDs[Int(x.item)].utf8)
            out += sep
            int(Int64(x.value))
            out += sep
            int(x.timestamp)
            out.append(0x0A)
        }
        try Data(out).write(to: directory.appendingPathComponent("ratings.dat"))

        var users = ""
        guard case .numbers(let age)? = d.rawUserFeatures["age"]?.values,
            case .categories(let gender)? = d.rawUserFeatures["gender"]?.values,
            case .categories(let occupation)? = d.rawUserFeatures["occupation"]?.values
        else { throw DataError(file: "users.dat", "the synthetic data set has no age, gender and occupation to write") }
        let codes = [1, 18, 25, 35, 45, 50, 56]
        for u in 0..<d.userCount {
            let a = age[u] ?? 30
            let code = codes.last { Double($0) <= a } ?? 1
            users +=
                "\(d.userIDs[u])::\(gender[u].first ?? "M")::\(code)::\(occupation[u].first ?? "0")::\(10_000 + (u * 7919) % 89_999)\n"
        }
        try Data(users.utf8).write(to: directory.appendingPathComponent("users.dat"))

        var movies = ""
        guard case .categories(let genres)? = d.rawItemFeatures["genres"]?.values else {
            throw DataError(file: "movies.dat", "the synthetic data set has no genres to write")
        }
        for i in 0..<d.itemCount {
            movies += "\(d.itemIDs[i])::\(d.itemTitles?[i] ?? "Item \(i)")::\(genres[i].joined(separator: "|"))\n"
        }
        try Data(movies.utf8).write(to: directory.appendingPathComponent("movies.dat"))
    }
}
