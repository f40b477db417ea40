import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct SupportSizeScheduleTests {
    let world = SmallWorld.shared
    let rule = AdaptationRule(partition: .decisionLayers, steps: 3, learningRate: 0.05)

    /// Validation users whose support all says `support` and whose query all says `query`.
    func tasks(support: Float, query: Float) -> [ProtocolTask] {
        world.split.tasks(.validation).filter { $0.support.count >= 11 }.map { task in
            var copy = task
            copy.support = task.support.map {
                Interaction(user: $0.user, item: $0.item, value: support, timestamp: $0.timestamp)
            }
            copy.query = task.query.map {
                Interaction(user: $0.user, item: $0.item, value: query, timestamp: $0.timestamp)
            }
            return copy
        }
    }

    /// The schedule `select` chooses for an untrained network on these tasks, cut as the
    /// experiment cuts validation tasks.
    func schedule(on tasks: [ProtocolTask]) -> SupportSizeSchedule {
        let network = PretrainedNetwork(model: world.model(), options: .init())
        return SupportSizeSchedule.select(
            candidates: SupportSizeSchedule.candidates(baseSteps: rule.steps),
            tasks: { lower, upper in
                (upper.map { [lower, $0] } ?? [100]).map { k in
                    tasks.map { PreparedTask($0.truncatedSupport(toEarliest: k), features: world.features) }
                }
            },
            fallback: .init(steps: rule.steps, rateScale: 1)
        ) { tasks, candidate in
            var trial = rule
            trial.supportSchedule = SupportSizeSchedule(bands: [
                .init(minimumSupport: 1, steps: candidate.steps, rateScale: candidate.rateScale)
            ])
            return selectionScores(tasks, objective: .rating, threads: 2) { network.predict($0, rule: trial) }
        }
    }

    /// Supports that say the opposite of the query: any step toward them hurts, so every band
    /// keeps the prior.
    @Test func choosesNoStepsWhenAdaptationHurtsOnValidation() {
        let chosen = schedule(on: tasks(support: 5, query: 1))
        #expect(chosen.bands.map(\.minimumSupport) == SupportSizeSchedule.standardBandStarts)
        for band in chosen.bands {
            #expect(band.steps == 0, "band \(band.minimumSupport): \(band.steps) steps chosen")
            #expect(band.validationScore == band.priorValidationScore)
        }
    }

    /// Supports that agree with the query: adapting helps, so every band adapts, at a positive rate.
    @Test func choosesAPositiveRateWhenAdaptationHelps() throws {
        let chosen = schedule(on: tasks(support: 5, query: 5))
        for band in chosen.bands {
            #expect(band.steps > 0 && band.rateScale > 0, "band \(band.minimumSupport): \(band)")
            let score = try #require(band.validationScore)
            let prior = try #require(band.priorValidationScore)
            #expect(score < prior)
        }
    }

    /// The one-standard-error rule: a gain over the prior smaller than its paired standard error
    /// keeps the prior; a clear gain is taken; NaN tasks are left out of every candidate.
    @Test func takesTheGentlestCandidateWithinOneStandardError() throws {
        let prior = SupportSizeSchedule.Candidate(steps: 0, rateScale: 1)
        let gentle = SupportSizeSchedule.Candidate(steps: 1, rateScale: 0.5)
        let strong = SupportSizeSchedule.Candidate(steps: 5, rateScale: 2)
        let base: [Double] = [0.9, 0.5, 0.8, 0.6, 0.7, 1.0]
        // Differences to the prior of ±0.2 around a mean gain of 0.02: noise, not a gain.
        let noisy = zip(base, [-0.22, 0.18, -0.22, 0.18, -0.22, 0.18]).map { $0 + $1 }
        let noise = try #require(SupportSizeSchedule.oneStandardErrorChoice([(prior, base), (strong, noisy)]))
        #expect(noise.candidate == prior)
        // A steady gain of 0.05 on every task is taken, and the gentler of two equal gains wins.
        let better = base.map { $0 - 0.05 }
        let clear = try #require(
            SupportSizeSchedule.oneStandardErrorChoice([(prior, base), (strong, better), (gentle, better)]))
        #expect(clear.candidate == gentle)
        #expect(abs(clear.score - (base.reduce(0, +) / 6 - 0.05)) < 1e-12)
        // An undefined task (NaN) is left out of every mean.
        var holed = better
        holed[0] = .nan
        let partial = try #require(SupportSizeSchedule.oneStandardErrorChoice([(prior, base), (strong, holed)]))
        #expect(partial.tasks == [false, true, true, true, true, true])
        #expect(abs(partial.score - (base.dropFirst().reduce(0, +) / 5 - 0.05)) < 1e-12)
    }

    /// A band with no validation task keeps the trained rule.
    @Test func aBandWithoutValidationTasksKeepsTheFallback() {
        let chosen = SupportSizeSchedule.select(
            bandStarts: [1, 3], candidates: SupportSizeSchedule.candidates(baseSteps: 5),
            tasks: { lower, _ in lower == 1 ? [Array(world.validation.prefix(3))] : [] },
            fallback: .init(steps: 5, rateScale: 1)
        ) { tasks, candidate in tasks.map { _ in Double(candidate.steps) } }
        #expect(chosen.bands[0].steps == 0)
        #expect(chosen.bands[1] == .init(minimumSupport: 3, steps: 5, rateScale: 1))
    }

    /// Prediction follows the band of the task's support size: a prior band returns the
    /// unadapted scores, and a band of 2 steps at half the rate is exactly that plain rule.
    @Test func predictionUsesTheBandOfTheSupportSize() {
        let network = PretrainedNetwork(model: world.model(), options: .init())
        var scheduled = rule
        scheduled.supportSchedule = SupportSizeSchedule(bands: [
            .init(minimumSupport: 1, steps: 0, rateScale: 1), .init(minimumSupport: 3, steps: 2, rateScale: 0.5),
        ])
        let task = world.split.tasks(.validation).first { $0.support.count >= 5 }!
        let one = PreparedTask(task.truncatedSupport(toEarliest: 1), features: world.features)
        let five = PreparedTask(task.truncatedSupport(toEarliest: 5), features: world.features)
        #expect(network.predict(one, rule: scheduled) == network.model.scoreQuery(one, parameters: network.parameters))
        let plain = AdaptationRule(partition: .decisionLayers, steps: 2, learningRate: 0.025)
        #expect(network.predict(five, rule: scheduled) == network.predict(five, rule: plain))
        #expect(network.predict(five, rule: scheduled) != network.predict(five, rule: rule))
    }

    /// Meta-SGD's learned rates are scaled by the band's factor too.
    @Test func theBandScalesLearnedRates() {
        var options = MetaTrainingOptions()
        options.learnsInnerRates = true
        options.adaptation = rule
        let learner = MetaLearner(model: world.model(), options: options)
        let task = world.validation.first { $0.supportCount >= 3 }!
        var scheduled = rule
        scheduled.supportSchedule = SupportSizeSchedule(bands: [.init(minimumSupport: 1, steps: 3, rateScale: 0)])
        #expect(
            learner.predict(task, rule: scheduled) == learner.model.scoreQuery(task, parameters: learner.parameters))
        scheduled.supportSchedule = SupportSizeSchedule(bands: [.init(minimumSupport: 1, steps: 3, rateScale: 1)])
        #expect(learner.predict(task, rule: scheduled) == learner.predict(task))
    }

    @Test func scheduleSurvivesJSONAndOldRulesStillDecode() throws {
        var scheduled = rule
        scheduled.supportSchedule = SupportSizeSchedule(bands: [
            .init(minimumSupport: 1, steps: 0, rateScale: 1, validationScore: 0.81, priorValidationScore: 0.81),
            .init(minimumSupport: 3, steps: 1, rateScale: 0.25, validationScore: 0.8, priorValidationScore: 0.82),
        ])
        let data = try JSONEncoder().encode(scheduled)
        #expect(try JSONDecoder().decode(AdaptationRule.self, from: data) == scheduled)
        // A rule as archives wrote it before the schedule existed: no "supportSchedule" key.
        var old = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(old.removeValue(forKey: "supportSchedule") != nil)
        let decoded = try JSONDecoder().decode(
            AdaptationRule.self, from: try JSONSerialization.data(withJSONObject: old))
        #expect(decoded == rule)
    }

    @Test func summaryNamesEachBand() {
        let schedule = SupportSizeSchedule(bands: [
            .init(minimumSupport: 3, steps: 1, rateScale: 0.5), .init(minimumSupport: 1, steps: 0, rateScale: 1),
        ])
        #expect(schedule.summary == "1–2: prior; 3+: 1 step at 0.5× the rate")
        #expect(schedule.band(forSupportSize: 0) == nil)
        #expect(schedule.band(forSupportSize: 2)?.steps == 0)
        #expect(schedule.band(forSupportSize: 40)?.steps == 1)
    }

    /// Few-shot training tasks: with share 1 every sampled support is cut to one of the sizes.
    @Test func metaTrainingSamplesSmallSupports() {
        var options = MetaTrainingOptions()
        options.smallSupportShare = 1
        options.smallSupportSizes = [1, 3]
        let learner = MetaLearner(model: world.model(), options: options)
        var random = SeededGenerator(seed: 1)
        let ratings = world.split.warmRatingsByUser()
        let users = ratings.keys.sorted().filter { ratings[$0]!.count >= 20 }.prefix(20)
        let sizes = users.map {
            learner.sampleTask(user: $0, ratings: ratings[$0]!, features: world.features, random: &random).supportCount
        }
        #expect(Set(sizes) == [1, 3])
        learner.options.smallSupportShare = 0
        let full = users.map {
            learner.sampleTask(user: $0, ratings: ratings[$0]!, features: world.features, random: &random).supportCount
        }
        #expect(full.allSatisfy { $0 >= 10 })
    }

    /// A saved model keeps its schedule (in the archive header, inside the adaptation rule) and
    /// predicts with it after loading.
    @Test func archivesKeepTheSchedule() throws {
        var scheduled = rule
        scheduled.supportSchedule = SupportSizeSchedule(bands: [
            .init(minimumSupport: 1, steps: 0, rateScale: 1), .init(minimumSupport: 3, steps: 1, rateScale: 0.5),
        ])
        var options = MetaTrainingOptions()
        options.adaptation = scheduled
        let learner = MetaLearner(model: world.model(), options: options)
        let network = PretrainedNetwork(model: world.model(), options: .init()).fineTuned(with: scheduled)
        let directory = try makeDirectory([:])
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = ModelArchive.DataDescription(name: "small", source: "synthetic", seed: 0, implicitThreshold: nil)
        let learnerURL = directory.appendingPathComponent("maml.safetensors")
        let networkURL = directory.appendingPathComponent("fine-tuned.safetensors")
        try ModelArchive(learner, data: data).write(to: learnerURL)
        try ModelArchive(network, data: data).write(to: networkURL)
        let restoredLearner = try #require(try ModelArchive(contentsOf: learnerURL).predictor() as? MetaLearner)
        let restoredNetwork = try #require(try ModelArchive(contentsOf: networkURL).predictor() as? PretrainedNetwork)
        #expect(restoredLearner.options.adaptation.supportSchedule == scheduled.supportSchedule)
        #expect(restoredNetwork.fineTuning?.supportSchedule == scheduled.supportSchedule)
        let task = world.split.tasks(.validation).first { $0.support.count >= 3 }!
        let one = PreparedTask(task.truncatedSupport(toEarliest: 1), features: world.features)
        #expect(restoredLearner.predict(one) == learner.model.scoreQuery(one, parameters: learner.parameters))
        #expect(restoredNetwork.predict(one) == network.predict(one))
    }

    /// The served bundle adapts by the schedule: one rating keeps the prior's scores, three adapt.
    @Test func theBundleAdaptsByTheSchedule() throws {
        let experiment = ServingFixture.experiment
        var options = MetaTrainingOptions()
        options.adaptation = AdaptationRule(
            partition: .decisionLayers, steps: 3, learningRate: 0.1,
            supportSchedule: SupportSizeSchedule(bands: [
                .init(minimumSupport: 1, steps: 0, rateScale: 1), .init(minimumSupport: 3, steps: 3, rateScale: 1),
            ]))
        let learner = experiment.makeMetaLearner(
            options: options, model: .init(embeddingSize: 8, hiddenSizes: [16], itemIDEmbedding: true))
        let url = ServingFixture.temporaryDirectory().appendingPathComponent("model.safetensors")
        try ModelBundle(archive: ModelArchive(learner, data: ServingFixture.description), experiment: experiment)
            .write(to: url)
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
        let ids = experiment.dataset.itemIDs
        let count = ids.count
        func scores(_ state: Recommender.AdaptedState?) throws -> [String: Float] {
            Dictionary(
                uniqueKeysWithValues: try recommender.recommend(userFeatures: [:], state: state, count: count).map {
                    ($0.id, $0.score)
                })
        }
        let prior = try scores(nil)
        let one = try recommender.adapt(userFeatures: [:], feedback: [(ids[0], 5)])
        let adaptedOne = try scores(one)
        #expect(prior.allSatisfy { abs(adaptedOne[$0.key]! - $0.value) < 1e-5 }, "one rating left the prior")
        let three = try recommender.adapt(userFeatures: [:], feedback: [(ids[0], 5), (ids[3], 1), (ids[7], 4)])
        #expect(try scores(three) != prior)
    }
}
