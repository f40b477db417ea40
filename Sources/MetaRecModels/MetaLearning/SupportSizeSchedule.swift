import MetaRecCore
import MetaRecData

/// Inner steps and learning rate per support-size band, so that a user's first ratings help
/// rather than hurt (issue 14, "few-shot first"). With one rating, five gradient steps at the
/// rate tuned for a full history overfit it, and MAML and a fine-tuned network both scored worse
/// at K = 1 than with no rating at all (K = 0, the prior from the user's features). Each band's
/// steps and rate are chosen on validation users' tasks cut to that band's sizes, from a grid
/// that includes 0 steps (the prior) and smaller rates (a shrinkage toward the prior, chosen on
/// data rather than hand-set). Per-step and per-size inner rates follow the idea of Meta-SGD
/// (Li et al., arXiv 1707.09835) and of MAML++'s learned per-step rates (Antoniou et al., ICLR
/// 2019), chosen here by validation instead of meta-gradient.
public struct SupportSizeSchedule: Sendable, Codable, Equatable {
    /// How supports of `minimumSupport` ratings and more (up to the next band) adapt.
    public struct Band: Sendable, Codable, Equatable {
        public var minimumSupport: Int
        public var steps: Int
        /// Multiplies the rule's learning rate, and Meta-SGD's learned rates.
        public var rateScale: Float
        /// The validation score of this choice and of the prior (0 steps), when it was selected:
        /// the evidence for it. Lower is better (MAE, or 1 − GAUC).
        public var validationScore: Double?
        public var priorValidationScore: Double?

        public init(
            minimumSupport: Int, steps: Int, rateScale: Float, validationScore: Double? = nil,
            priorValidationScore: Double? = nil
        ) {
            self.minimumSupport = minimumSupport
            self.steps = steps
            self.rateScale = rateScale
            self.validationScore = validationScore
            self.priorValidationScore = priorValidationScore
        }
    }

    /// By ascending `minimumSupport`.
    public private(set) var bands: [Band]

    public init(bands: [Band]) {
        self.bands = bands.sorted { $0.minimumSupport < $1.minimumSupport }
    }

    /// The band a support of `size` ratings falls in; nil below the first band.
    public func band(forSupportSize size: Int) -> Band? {
        bands.last { $0.minimumSupport <= size }
    }

    /// The lower ends of the bands 1–2, 3–5, 6–10 and 11 or more ratings.
    public static let standardBandStarts = [1, 3, 6, 11]

    /// One point of the grid a band's adaptation is chosen from.
    public struct Candidate: Sendable, Equatable {
        public var steps: Int
        public var rateScale: Float
        public init(steps: Int, rateScale: Float) {
            self.steps = steps
            self.rateScale = rateScale
        }
    }

    /// The prior (0 steps) first, so that it wins ties; then 1, 2 and `baseSteps` steps at a
    /// quarter, half, once and twice the trained rate.
    public static func candidates(baseSteps: Int) -> [Candidate] {
        var steps: [Int] = []
        for count in [1, 2, baseSteps] where count > 0 && !steps.contains(count) { steps.append(count) }
        return [Candidate(steps: 0, rateScale: 1)]
            + steps.flatMap { count in [0.25, 0.5, 1, 2].map { Candidate(steps: count, rateScale: $0) } }
    }

    /// Chooses each band's candidate by the one-standard-error rule (Breiman et al., 1984;
    /// Hastie et al., "The Elements of Statistical Learning", 7.10): the gentlest adaptation
    /// (fewest steps × rate, the prior first) whose mean validation score is within one standard
    /// error of the best one's, the error taken over the per-task differences to the best. The
    /// strict minimum over a grid on a hundred validation users overfits their noise: it chose
    /// adaptation at K = 1 that did not carry over to new users.
    ///
    /// - Parameters:
    ///   - bandStarts: the lower ends of the bands; each band ends where the next begins.
    ///   - tasks: the validation task sets standing for the band `[lower, upper]` (upper nil for
    ///     the last, open band), for example the validation users' `lower` and `upper` earliest
    ///     support ratings; an empty answer keeps the fallback for that band.
    ///   - fallback: the band used where no validation task stands for it (the trained rule).
    ///   - score: the per-task selection scores (lower is better) of a candidate on one task set,
    ///     in the set's order; NaN where undefined, and then that task is left out.
    /// - Returns: one band per start.
    public static func select(
        bandStarts: [Int] = standardBandStarts, candidates: [Candidate],
        tasks: (_ lower: Int, _ upper: Int?) -> [[PreparedTask]], fallback: Candidate,
        score: ([PreparedTask], Candidate) -> [Double]
    ) -> SupportSizeSchedule {
        let starts = bandStarts.sorted()
        var bands: [Band] = []
        for (index, lower) in starts.enumerated() {
            let upper = index + 1 < starts.count ? starts[index + 1] - 1 : nil
            let sets = tasks(lower, upper).filter { !$0.isEmpty }
            let scored = candidates.map { candidate in (candidate, sets.flatMap { score($0, candidate) }) }
            guard let choice = oneStandardErrorChoice(scored) else {
                bands.append(Band(minimumSupport: lower, steps: fallback.steps, rateScale: fallback.rateScale))
                continue
            }
            let prior = scored.first { $0.0.steps == 0 }.map { mean($0.1, definedIn: choice.tasks) }
            bands.append(
                Band(
                    minimumSupport: lower, steps: choice.candidate.steps, rateScale: choice.candidate.rateScale,
                    validationScore: choice.score, priorValidationScore: prior))
        }
        return SupportSizeSchedule(bands: bands)
    }

    /// The gentlest candidate within one standard error of the best, over the tasks every
    /// candidate scores; nil when no task is scored by all.
    static func oneStandardErrorChoice(_ scored: [(Candidate, [Double])]) -> (
        candidate: Candidate, score: Double, tasks: [Bool]
    )? {
        guard let count = scored.first?.1.count, scored.allSatisfy({ $0.1.count == count }) else { return nil }
        let defined = (0..<count).map { task in scored.allSatisfy { !$0.1[task].isNaN } }
        let n = defined.filter { $0 }.count
        guard n > 0 else { return nil }
        let means = scored.map { mean($0.1, definedIn: defined) }
        let best = means.indices.min { means[$0] < means[$1] }!
        let gentlest = scored.indices.sorted {
            let (a, b) = (scored[$0].0, scored[$1].0)
            let (sizeA, sizeB) = (Float(a.steps) * a.rateScale, Float(b.steps) * b.rateScale)
            return sizeA != sizeB ? sizeA < sizeB : a.steps != b.steps ? a.steps < b.steps : $0 < $1
        }
        for index in gentlest {
            let differences = (0..<count).filter { defined[$0] }.map { scored[index].1[$0] - scored[best].1[$0] }
            let average = differences.reduce(0, +) / Double(n)
            let variance =
                n > 1 ? differences.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(n - 1) : 0
            if average <= (variance / Double(n)).squareRoot() {
                return (scored[index].0, means[index], defined)
            }
        }
        return (scored[best].0, means[best], defined)
    }

    private static func mean(_ values: [Double], definedIn defined: [Bool]) -> Double {
        let kept = zip(values, defined).filter(\.1).map(\.0)
        return kept.reduce(0, +) / Double(max(kept.count, 1))
    }

    /// One line per band, for logs and reports: "1–2: 0 steps (prior); 3–5: 1 step × 0.5; ...".
    public var summary: String {
        bands.enumerated().map { index, band in
            let upper = index + 1 < bands.count ? "–\(bands[index + 1].minimumSupport - 1)" : "+"
            let what =
                band.steps == 0
                ? "prior" : "\(band.steps) step\(band.steps == 1 ? "" : "s") at \(band.rateScale)× the rate"
            return "\(band.minimumSupport)\(upper): \(what)"
        }.joined(separator: "; ")
    }
}
