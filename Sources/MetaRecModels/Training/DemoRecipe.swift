import Foundation
import MetaRecCore
import MetaRecData

/// The demo's roster: every method of the protocol's table trained on an experiment's warm users,
/// each with its model selection on validation users. `metarec demo` runs it and renders the
/// table; a study or a test can run the same roster without the command line.
///
/// ```swift
/// let experiment = try Experiment(dataset: dataset, configuration: configuration)
/// let methods = try DemoRecipe(configuration: configuration).train(experiment)
/// let report = experiment.report(for: methods)
/// ```
public struct DemoRecipe: Sendable {
    /// The meta-learners' options (gradient order and learned rates are set per row).
    public var metaTraining: MetaTrainingOptions
    /// Start meta-training from the pretrained network (MeLU's recipe), taking its fine-tuning
    /// rate, chosen on validation users, as the inner rate unless `innerRateIsFixed`.
    public var fromPretrained = false
    /// The inner learning rate was given by the user: keep it.
    public var innerRateIsFixed = false
    /// Known-users rows (issue 12): the share of values masked as unknown, and of user ids dropped,
    /// while pretraining, so that new users and unseen values start from an average.
    public var knownUserMasking: Float = 0.2
    public var tanp = TaNP.Configuration()
    /// Extra MAML rows whose query loss also ranks liked items above sampled catalogue items
    /// (``RankingObjective``; issue 21): one row per objective, after Meta-SGD.
    public var rankingObjectives: [RankingObjective] = []

    public init(configuration: RunConfiguration) {
        metaTraining = configuration.metaTraining
    }

    /// Trains every method in the table's order: the baselines, the pretrained network and its
    /// fine-tuning (without and with a user-id embedding), MAML, first-order MAML, Meta-SGD (then
    /// MAML with each ranking objective asked for), the
    /// covariance head, TaNP and MAMO. Throws ``TrainingInterrupted`` when the monitor says stop.
    public func train(_ experiment: Experiment, phases: some TrainingPhases = SilentPhases()) throws
        -> [ColdStartPredictor]
    {
        func checked<T>(_ name: String, _ body: () throws -> T) throws -> T {
            let value = try phases.phase(name, body)
            guard !phases.monitor.isInterrupted() else { throw TrainingInterrupted(during: name) }
            return value
        }
        var methods: [ColdStartPredictor] = experiment.baselines()
        let network = try checked("pretrained network") { try experiment.trainPretrained(monitor: phases.monitor) }
        let fineTuned = experiment.fineTuned(network)
        methods += [network, fineTuned]

        // Known users stay known: existing users meeting new items start from a learned user-id
        // embedding; masking teaches the unknown rows and the missing id an average.
        var knownOptions = experiment.configuration.pretraining
        knownOptions.unseenMaskingRate = knownUserMasking
        var knownConfiguration = experiment.configuration.model
        knownConfiguration.userIDEmbedding = true
        let known = try checked("pretrained network (user id)") {
            try experiment.trainPretrained(
                options: knownOptions, model: knownConfiguration, phase: "pretrained network (user id)",
                monitor: phases.monitor)
        }
        known.variant = "user id, masking \(knownUserMasking)"
        methods += [known, experiment.fineTuned(known)]

        // Meta-training starts at random; `fromPretrained` starts from the pretrained network.
        let chosenRate = fromPretrained && !innerRateIsFixed ? fineTuned.fineTuning?.learningRate : nil
        // MAML, first-order MAML, Meta-SGD, then MAML with each ranking term asked for.
        let rows: [(label: String, order: MetaGradientOrder, learnsRates: Bool, ranking: RankingObjective?)] =
            [("MAML", .second, false, nil), ("first-order MAML", .first, false, nil), ("Meta-SGD", .second, true, nil)]
            + rankingObjectives.map { ("MAML (\($0.rawValue) loss)", .second, false, $0) }
        for row in rows {
            var options = metaTraining
            if let chosenRate { options.adaptation.learningRate = chosenRate }
            options.order = row.order
            options.learnsInnerRates = row.learnsRates
            options.ranking = row.ranking.map { RankingLoss(objective: $0, relevantAt: experiment.relevantAt) }
            methods.append(
                try checked(row.label) {
                    try experiment.trainMetaLearner(
                        options: options, initial: fromPretrained ? network.parameters : nil, phase: row.label,
                        monitor: phases.monitor)
                })
        }
        methods.append(try checked("covariance head") { try experiment.trainCovarianceHead(monitor: phases.monitor) })
        methods.append(
            try checked("TaNP") { try experiment.trainTaNP(configuration: tanp, monitor: phases.monitor) })
        // MAMO (Dong et al., KDD 2020): MAML from a start personalised by memories read with the
        // user's profile; it meta-trains with the run's MAML options, so epochs bound it too.
        methods.append(try checked("MAMO") { try experiment.trainMAMO(monitor: phases.monitor) })
        return methods
    }

    /// What validation chose, for the report's notes: steps per support size (few-shot first),
    /// and how known users start in item-cold (from the prior or their history).
    public static func selectionNotes(_ methods: [ColdStartPredictor]) -> [String] {
        let schedules = methods.compactMap { method -> String? in
            let rule = (method as? MetaLearner)?.options.adaptation ?? (method as? PretrainedNetwork)?.fineTuning
            return rule?.supportSchedule.map { "\(method.name), steps by support size: \($0.summary)" }
        }
        let histories = methods.compactMap { method in
            (method as? KnownHistoryChoosing)?.knownHistorySelection.map { "\(method.name): \($0.summary)" }
        }
        return schedules + histories
    }
}
