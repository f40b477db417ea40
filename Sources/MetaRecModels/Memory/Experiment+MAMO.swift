import MetaRecCore
import MetaRecData

extension Experiment {
    /// MAMO trained on the warm users and selected on validation users at full, 1- and
    /// 3-rating supports (`fewShotValidation`), so that the epoch kept is good for a new user's
    /// first ratings too. Its meta-training options are the run's MAML options (epochs,
    /// patience, local rule) unless `configuration` is given; the seed and threads are the run's.
    public func trainMAMO(
        configuration: MAMO.Configuration? = nil, phase: String = "MAMO", monitor: TrainingMonitor = .silent
    ) throws -> MAMO {
        var configuration = configuration ?? MAMO.Configuration(training: self.configuration.metaTraining)
        configuration.training.seed = initialisationSeed
        configuration.training.threads = threads
        let mamo = MAMO(model: model(), configuration: configuration)
        try mamo.fit(
            training: split.warmRatingsByUser(), validation: fewShotValidation(), features: features,
            monitor: monitor, phase: phase)
        return mamo
    }
}
