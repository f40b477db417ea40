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

    /// Chooses each band's candidate with the lowest mean validation score.
    ///
    /// - Parameters:
    ///   - bandStarts: the lower ends of the bands; each band ends where the next begins.
    ///   - tasks: the validation task sets standing for the band `[lower, upper]` (upper nil for
    ///     the last, open band), for example the validation users' `lower` and `upper` earliest
    ///     support ratings; an empty answer keeps the fallback for that band.
    ///   - fallback: the band used where no validation task stands for it (the trained rule).
    ///   - score: the selection score (lower is better) of a candidate on one task set; NaN
    ///     when undefined, and then that set is left out.
    /// - Returns: one band per start; a candidate replaces the prior only when it scores strictly
    ///   lower, so that adaptation which does not help on validation is not used.
    public static func select(
        bandStarts: [Int] = standardBandStarts, candidates: [Candidate],
        tasks: (_ lower: Int, _ upper: Int?) -> [[PreparedTask]], fallback: Candidate,
        score: ([PreparedTask], Candidate) -> Double
    ) -> SupportSizeSchedule {
        let starts = bandStarts.sorted()
        var bands: [Band] = []
        for (index, lower) in starts.enumerated() {
            let upper = index + 1 < starts.count ? starts[index + 1] - 1 : nil
            let sets = tasks(lower, upper).filter { !$0.isEmpty }
            var scored: [(candidate: Candidate, score: Double)] = []
            for candidate in candidates {
                let scores = sets.map { score($0, candidate) }.filter { !$0.isNaN }
                guard !scores.isEmpty else { continue }
                scored.append((candidate, scores.reduce(0, +) / Double(scores.count)))
            }
            guard var best = scored.first else {
                bands.append(Band(minimumSupport: lower, steps: fallback.steps, rateScale: fallback.rateScale))
                continue
            }
            for entry in scored.dropFirst() where entry.score < best.score { best = entry }
            bands.append(
                Band(
                    minimumSupport: lower, steps: best.candidate.steps, rateScale: best.candidate.rateScale,
                    validationScore: best.score, priorValidationScore: scored.first { $0.candidate.steps == 0 }?.score))
        }
        return SupportSizeSchedule(bands: bands)
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
