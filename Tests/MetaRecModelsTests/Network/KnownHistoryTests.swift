import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// Known users stay known (issue 12): item-cold validation, the histories, and starting a known
/// user from their history in the covariance head and the gradient methods.
@Suite(.serialized) struct KnownHistoryTests {
    let world = SmallWorld.shared

    @Test func itemColdValidationPairsValidationUsersWithNewItemsAndNoTestRating() throws {
        let split = world.split
        let tasks = split.tasks(.itemColdValidation)
        try #require(!tasks.isEmpty)
        let validationUsers = Set(split.validationUsers)
        for task in tasks {
            #expect(validationUsers.contains(task.user))
            #expect((task.support + task.query).allSatisfy { split.isNewItem[Int($0.item)] })
        }
        // Disjoint from every test scenario's ratings.
        let validationRatings = Set(tasks.flatMap { $0.support + $0.query })
        for scenario in [Scenario.userCold, .itemCold, .bothCold] {
            let test = split.tasks(scenario).flatMap { $0.support + $0.query }
            #expect(test.allSatisfy { !validationRatings.contains($0) })
        }
    }

    @Test func historiesAreWarmRatingsForExistingUsersAndOldItemsForValidationUsers() {
        let split = world.split
        let histories = split.knownHistories()
        let warm = split.warmRatingsByUser()
        for user in split.existingUsers where warm[user] != nil { #expect(histories[user] == warm[user]) }
        for user in split.newUsers { #expect(histories[user] == nil) }
        let validation = histories.filter { Set(split.validationUsers).contains($0.key) }
        #expect(!validation.isEmpty)
        #expect(validation.values.joined().allSatisfy { !split.isNewItem[Int($0.item)] })
        #expect(validation.values.joined().count == split.validationHistory.count)
    }

    func itemColdTaskWithHistory() throws -> PreparedTask {
        let histories = world.split.knownHistories()
        let task = try #require(world.split.tasks(.itemCold).first { (histories[$0.user]?.count ?? 0) >= 5 })
        return PreparedTask(task, features: world.features).withHistory(histories[task.user], features: world.features)
    }

    func head() throws -> CovarianceHead {
        var configuration = CovarianceHead.Configuration()
        configuration.embeddingSize = 8
        configuration.representationSize = 4
        configuration.maxEpochs = 2
        configuration.initialBias = world.globalMean
        let head = CovarianceHead(
            configuration: configuration, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures))
        try head.fit(training: world.warm, validation: world.validation, features: world.features)
        return head
    }

    /// Weight 1 is exact sequential updating: the same posterior as the history joined to the
    /// support; weight 0 is the prior's start; a weight between lies between them.
    @Test func covarianceHeadHistoryIsSequentialBayesianUpdating() throws {
        let head = try head()
        let task = try itemColdTaskWithHistory()
        let history = try #require(task.history)
        var withoutHistory = task
        withoutHistory.history = nil
        let joined = task.historyInSupport(latest: history.count)
        #expect(joined.supportCount == task.supportCount + history.count)
        var joinedWithoutHistory = joined
        joinedWithoutHistory.history = nil

        head.knownHistoryWeight = 1
        let full = head.predictWithUncertainty(task)
        let reference = head.predictWithUncertainty(joinedWithoutHistory)
        for (a, b) in zip(full.means, reference.means) { #expect(abs(a - b) < 1e-3) }
        for (a, b) in zip(full.variances, reference.variances) { #expect(abs(a - b) < 1e-3) }

        head.knownHistoryWeight = 0
        #expect(head.predict(task) == head.predict(withoutHistory))
        let prior = head.predictWithUncertainty(withoutHistory)
        #expect(full.variances.reduce(0, +) < prior.variances.reduce(0, +))
        #expect(zip(full.means, prior.means).contains { abs($0 - $1) > 1e-4 })
    }

    @Test func historyInSupportPutsTheLatestHistoryFirstAndKeepsTheQuery() throws {
        let task = try itemColdTaskWithHistory()
        let history = try #require(task.history)
        let joined = task.historyInSupport(latest: 3)
        #expect(joined.supportItemIDs == Array(history.itemIDs.suffix(3)) + task.supportItemIDs)
        #expect(joined.supportTargets.values == Array(history.targets.values.suffix(3)) + task.supportTargets.values)
        #expect(joined.queryItemIDs == task.queryItemIDs && joined.queryTargets.values == task.queryTargets.values)
        #expect(task.historyInSupport(latest: 0).supportItemIDs == task.supportItemIDs)
    }

    @Test func selectionChoosesTheBestCandidateAndTheSmallerOnATie() {
        let selection = KnownHistorySelection(
            tasks: 3, unit: "weight", candidates: [0, 0.5, 1], scores: [0.9, 0.8, 0.8])
        #expect(selection.chosen == 0.5)
        let prior = KnownHistorySelection(tasks: 3, unit: "weight", candidates: [0, 1], scores: [0.7, .nan])
        #expect(prior.chosen == 0)
    }

    /// The experiment chooses on item-cold validation and leaves the method at its choice.
    @Test func experimentSelectsTheHistoryUseOnItemColdValidation() throws {
        let experiment = try Experiment(dataset: world.synthetic.dataset, seed: 0, threads: 1)
        try #require(!experiment.itemColdValidation.isEmpty)
        #expect(experiment.itemColdValidation.allSatisfy { $0.history != nil })
        let head = try head()
        let selection = try #require(
            experiment.selectKnownHistory(head, candidates: [0, 1], unit: "weight") { head.knownHistoryWeight = $0 })
        #expect(head.knownHistoryWeight == selection.chosen)
        #expect(selection.scores[selection.candidates.firstIndex(of: selection.chosen)!] == selection.scores.min())
    }
}
