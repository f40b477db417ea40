import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

@Suite(.serialized) struct KnownUserTests {
    let world = SmallWorld.shared

    @Test func maskingReplacesValuesByUnknownAndDropsIds() {
        let batch = EntityBatch(world.features.items, entities: Array(0..<100))
        var random = SeededGenerator(seed: 1)
        let none = batch.maskingValues(rate: 0, using: &random)
        #expect(none.lists == batch.lists && none.ids == batch.ids)
        let all = batch.maskingValues(rate: 0.999_999, using: &random)
        #expect(all.lists.allSatisfy { $0.indices == [Int32](repeating: 0, count: 100) })
        #expect(all.ids.indices.isEmpty && all.ids.count == 100)
        let some = batch.maskingValues(rate: 0.3, using: &random)
        let unknownRows = (0..<100).filter { some.ids.offsets[$0] == some.ids.offsets[$0 + 1] }.count
        #expect(unknownRows > 15 && unknownRows < 45)
    }

    /// Item-cold: an existing user's learned id row is used, a user training never saw starts
    /// from the features alone (a zero row), and knowing the user lowers the item-cold error.
    @Test func warmUsersStartFromWhatTrainingLearnedInItemCold() throws {
        var configuration = world.model(embedding: 8, hidden: [16]).configuration
        configuration.userIDEmbedding = true
        let model = MeLUModel(
            configuration: configuration, users: FeatureSpace(world.split.userFeatures),
            items: FeatureSpace(world.split.itemFeatures))
        var options = PretrainedNetwork.Options()
        options.maxEpochs = 8
        options.learningRate = 3e-3
        options.unseenMaskingRate = 0.2
        let network = PretrainedNetwork(model: model, options: options)
        try network.fit(training: world.warm, validation: world.validation, features: world.features)

        let table = network.parameters.tensor("user.id.embedding")
        let width = configuration.embeddingSize
        func rowNorm(_ user: Int32) -> Float {
            (0..<width).reduce(0) { $0 + abs(table.values[Int(user) * width + $1]) }
        }
        let warmUsers = Set(world.warm.map(\.user))
        let newUsers = world.validation.map(\.user) + world.userCold.map(\.user)
        #expect(newUsers.allSatisfy { !warmUsers.contains($0) && rowNorm($0) == 0 })
        #expect(warmUsers.allSatisfy { rowNorm($0) > 0 })

        let itemCold = world.split.tasks(.itemCold).map { PreparedTask($0, features: world.features) }
        try #require(itemCold.count >= 10)
        #expect(itemCold.allSatisfy { warmUsers.contains($0.user) })
        func meanAbsoluteError(_ tasks: [PreparedTask]) -> Double {
            tasks.map { Metrics.meanAbsoluteError(network.predict($0), $0.queryTargets.values) }.reduce(0, +)
                / Double(tasks.count)
        }
        let forgotten = itemCold.map { task -> PreparedTask in
            var copy = task
            copy.userBatch.ids = IndexLists([[]])
            return copy
        }
        let known = meanAbsoluteError(itemCold)
        let unknown = meanAbsoluteError(forgotten)
        #expect(known < unknown - 0.005, "item-cold MAE with the user's id \(known), without \(unknown)")
    }
}
