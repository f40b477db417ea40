import MetaRecCore

/// How negatives are drawn for a positive-only log (plays, clicks, purchases), where every row
/// is something a user did and nothing says what they passed over. The usual remedy is to treat
/// a few untouched items per positive as negatives (He et al., "Neural Collaborative
/// Filtering", WWW 2017: four per positive, uniform; Mikolov et al. 2013 and most later work
/// also weight by popularity, so that negatives are items the user likely saw).
public struct NegativeSampling: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Strategy: String, Sendable, Codable, CaseIterable {
        /// Every untouched item equally likely.
        case uniform
        /// An untouched item in proportion to its number of interactions.
        case popularity
    }

    public var strategy: Strategy
    /// Negatives per positive (fewer when a user has touched almost every item).
    public var ratio: Int
    public var seed: UInt64

    public init(strategy: Strategy = .uniform, ratio: Int = 4, seed: UInt64 = 0) {
        self.strategy = strategy
        self.ratio = ratio
        self.seed = seed
    }

    public var description: String {
        "\(ratio) \(strategy.rawValue) negative\(ratio == 1 ? "" : "s") per positive (seed \(seed)), never an item the user touched"
    }
}

extension Dataset {
    /// Whether every interaction has the same value: a log of positives only (a play or click
    /// log, or implicit feedback whose threshold nothing falls below). Such data has one class, so
    /// neither a loss nor AUC can tell good scores from bad until negatives are sampled.
    public var isPositiveOnly: Bool {
        guard let first = interactions.first?.value else { return false }
        return interactions.allSatisfy { $0.value == first }
    }

    /// This data set as implicit feedback (every existing row a positive, value 1) plus sampled
    /// negatives (value 0). A user's k-th negative takes the time of their (k mod n)-th positive, so
    /// negatives spread over the user's history and fall into support and query sets alike; the
    /// protocol's new-item rule still looks at positives only (``negativeSampling`` is set).
    /// Deterministic for a seed; each user draws from their own sub-stream.
    public func withSampledNegatives(_ sampling: NegativeSampling) -> Dataset {
        precondition(sampling.ratio >= 1, "withSampledNegatives: ratio must be at least 1")
        var popularity = [Double](repeating: 0, count: itemCount)
        for x in interactions { popularity[Int(x.item)] += 1 }
        var cumulative = [Double](repeating: 0, count: itemCount)
        var total = 0.0
        for i in 0..<itemCount {
            total += sampling.strategy == .popularity ? popularity[i] : 1
            cumulative[i] = total
        }
        let root = SeededGenerator(seed: sampling.seed).derived("negatives/\(sampling.strategy.rawValue)")
        var result: [Interaction] = []
        result.reserveCapacity(interactions.count * (sampling.ratio + 1))
        var start = 0
        while start < interactions.count {
            let user = interactions[start].user
            var end = start
            while end < interactions.count && interactions[end].user == user { end += 1 }
            let positives = interactions[start..<end].map {
                Interaction(user: $0.user, item: $0.item, value: 1, timestamp: $0.timestamp)
            }
            var touched = Set(positives.map(\.item))
            let wanted = min(positives.count * sampling.ratio, itemCount - touched.count)
            var random = root.derived("user/\(user)")
            var negatives: [Interaction] = []
            var attempts = 0
            // Rejection sampling; when most items are taken, a scan of the rest finishes the job.
            while negatives.count < wanted && attempts < 20 * wanted + 100 {
                attempts += 1
                let target = Double(random.uniform()) * total
                var lo = 0
                var hi = itemCount - 1
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
                }
                let item = Int32(lo)
                guard touched.insert(item).inserted else { continue }
                negatives.append(
                    Interaction(
                        user: user, item: item, value: 0,
                        timestamp: positives[negatives.count % positives.count].timestamp))
            }
            if negatives.count < wanted {
                for item in (0..<Int32(itemCount)) where negatives.count < wanted && touched.insert(item).inserted {
                    negatives.append(
                        Interaction(
                            user: user, item: item, value: 0,
                            timestamp: positives[negatives.count % positives.count].timestamp))
                }
            }
            result.append(
                contentsOf: (positives + negatives).sorted { ($0.timestamp, $0.item) < ($1.timestamp, $1.item) })
            start = end
        }
        var copy = self
        copy.interactions = result
        copy.feedback = .implicit(threshold: 1)
        copy.negativeSampling = sampling
        return copy
    }
}
