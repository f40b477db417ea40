import MetaRecCore
import MetaRecData

extension Experiment {
    /// Validation tasks standing for supports of `lower` to `upper` ratings: the validation
    /// users' `lower` and `upper` earliest support ratings (as the few-shot curve cuts test
    /// tasks), each from the users who have that many; for the open last band (`upper` nil), the
    /// whole support of the users with at least `lower` ratings in it.
    public func supportSizeValidation(lower: Int, upper: Int?) -> [[PreparedTask]] {
        let tasks = split.tasks(.validation)
        guard let upper else {
            return [
                Parallel.map(tasks.filter { $0.support.count >= lower }, workers: threads) { [features] in
                    PreparedTask($0, features: features)
                }
            ]
        }
        return Set([lower, upper]).sorted().map { k in
            Parallel.map(tasks.filter { $0.support.count >= k }, workers: threads) { [features] in
                PreparedTask($0.truncatedSupport(toEarliest: k), features: features)
            }
        }
    }

    /// `rule` with steps and rate chosen per support-size band on validation users (see
    /// ``SupportSizeSchedule``); `predict` scores a task under a trial rule. With no validation
    /// users, or when the run configuration turns the schedule off, `rule` is returned as it is.
    public func scheduled(
        _ rule: AdaptationRule, predict: (PreparedTask, AdaptationRule) -> [Float]
    ) -> AdaptationRule {
        guard configuration.selectsSupportSchedule, !validation.isEmpty else { return rule }
        var base = rule
        base.supportSchedule = nil
        let schedule = SupportSizeSchedule.select(
            candidates: SupportSizeSchedule.candidates(baseSteps: base.steps),
            tasks: supportSizeValidation(lower:upper:),
            fallback: .init(steps: base.steps, rateScale: 1)
        ) { tasks, candidate in
            var trial = base
            trial.supportSchedule = SupportSizeSchedule(bands: [
                .init(minimumSupport: 1, steps: candidate.steps, rateScale: candidate.rateScale)
            ])
            return selectionScores(tasks, objective: objective, threads: threads) { predict($0, trial) }
        }
        base.supportSchedule = schedule
        return base
    }

    /// Sets the meta-learner's support-size schedule, chosen on validation users.
    public func selectSupportSchedule(for learner: MetaLearner) {
        learner.options.adaptation = scheduled(learner.options.adaptation, predict: learner.predict(_:rule:))
    }
}
