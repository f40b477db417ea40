import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import MetaRecTestSupport
import Testing

@testable import MetaRecEvaluation

@Suite struct OnboardingTests {
    let world = SmallWorld.shared
    var tasks: [ProtocolTask] { Array(world.split.tasks(.userCold).prefix(40)) }

    /// Asking in the order the user rated gives the passive few-shot curve: the scorer's query
    /// MAE after the K earliest support ratings.
    @Test func earliestRatedReproducesTheFewShotCurve() {
        let scorer = UserMean(fallback: world.globalMean)
        let curve = OnboardingEvaluation.curves(
            choosers: [EarliestRatedChooser()], scorer: scorer, tasks: tasks,
            features: world.features, sizes: [1, 3], threads: 1)[0]
        for point in curve.points {
            let errors = tasks.map { task -> Double in
                let prepared = PreparedTask(task.truncatedSupport(toEarliest: point.k), features: world.features)
                return Metrics.meanAbsoluteError(scorer.predict(prepared), prepared.queryTargets.values)
            }
            #expect(abs(point.meanAbsoluteError - errors.reduce(0, +) / Double(errors.count)) < 1e-12)
            #expect(point.tasksWithFullPool == tasks.filter { $0.support.count >= point.k }.count)
        }
    }

    /// The pool is the user's own support: once K reaches every support's size, every chooser
    /// has asked everything and the curves meet; before that, choosers differ.
    @Test func choosersAskOnlyFromTheSupportAndMeetWhenThePoolRunsOut() {
        let scorer = UserMean(fallback: world.globalMean)
        let largest = tasks.map(\.support.count).max()!
        let popularity = ItemPopularity(training: world.warm)
        let curves = OnboardingEvaluation.curves(
            choosers: [EarliestRatedChooser(), PopularFirstChooser(popularity: popularity), RandomChooser(seed: 2)],
            scorer: scorer, tasks: tasks, features: world.features, sizes: [1, largest], threads: 1)
        let atOne = curves.map { $0.points[0].meanAbsoluteError }
        let atAll = curves.map { $0.points[1].meanAbsoluteError }
        #expect(Set(atOne).count > 1, "choosers should pick different first items: \(atOne)")
        for value in atAll { #expect(abs(value - atAll[0]) < 1e-12) }
    }

    /// Intervals widen with the noise variance: a huge σ² covers every rating within ±1 sd, a
    /// tiny prior and σ² almost none.
    @Test func calibrationCountsRatingsWithinTheIntervals() {
        func head(noise: Double, prior: Double) -> CovarianceHead {
            var configuration = CovarianceHead.Configuration()
            configuration.representationSize = 2
            configuration.initialBias = world.globalMean
            return CovarianceHead(
                configuration: configuration, users: FeatureSpace(world.split.userFeatures),
                items: FeatureSpace(world.split.itemFeatures),
                priorCovariance: [prior, 0, 0, 0, prior, 0, 0, 0, prior], noiseVariance: noise)
        }
        let wide = OnboardingEvaluation.calibration(
            head: head(noise: 100, prior: 1), tasks: tasks, features: world.features, sizes: [0, 3], threads: 1)
        let narrow = OnboardingEvaluation.calibration(
            head: head(noise: 1e-6, prior: 1e-6), tasks: tasks, features: world.features, sizes: [0], threads: 1)
        #expect(wide.map(\.k) == [0, 3])
        #expect(
            wide.allSatisfy {
                $0.withinOne == 1 && $0.withinTwo == 1 && $0.ratings == tasks.reduce(0) { $0 + $1.query.count }
            })
        #expect(narrow[0].withinTwo < 0.05 && narrow[0].withinOne <= narrow[0].withinTwo)
    }
}
