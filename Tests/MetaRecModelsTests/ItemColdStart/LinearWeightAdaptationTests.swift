import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// LWA learns from an item's first users in a world where each item's taste is a known direction.
@Suite(.serialized) struct LinearWeightAdaptationTests {
    let world = SmallWorld.shared

    func clickModel(objective: Objective = .click) -> MeLUModel {
        MeLUModel(
            configuration: .init(embeddingSize: 3, hiddenSizes: [4], itemIDEmbedding: true, objective: objective),
            users: FeatureSpace(world.split.userFeatures), items: FeatureSpace(world.split.itemFeatures))
    }

    /// Users are points b_u in the base model's user-block space; item i has a hidden direction t_i
    /// and user u clicks it when b_u · t_i > 0. Nothing about a new item is known but its users.
    struct DirectionWorld {
        var blocks: [[Float]]
        var random: SeededGenerator

        init(users: Int, width: Int, seed: UInt64) {
            var random = SeededGenerator(seed: seed)
            blocks = (0..<users).map { _ in (0..<width).map { _ in random.normal(mean: 0, standardDeviation: 1) } }
            self.random = random
        }

        /// `items` fresh items with `support` and `query` random users each.
        mutating func batch(items: Int, support: Int, query: Int, itemFeatureWidth: Int) -> ItemTaskBatch {
            let width = blocks[0].count
            var sides: [(users: [Int32], slots: [Int32], labels: [Float])] = [([], [], []), ([], [], [])]
            for slot in 0..<items {
                let direction = (0..<width).map { _ in random.normal(mean: 0, standardDeviation: 1) }
                for (side, count) in [support, query].enumerated() {
                    for _ in 0..<count {
                        let user = Int.random(in: 0..<blocks.count, using: &random)
                        let affinity = zip(blocks[user], direction).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                        sides[side].users.append(Int32(user))
                        sides[side].slots.append(Int32(slot))
                        sides[side].labels.append(affinity > 0 ? 1 : 0)
                    }
                }
            }
            func rows(_ side: (users: [Int32], slots: [Int32], labels: [Float])) -> ItemTaskRows {
                ItemTaskRows(
                    userBlocks: Tensor(
                        shape: [side.users.count, width], values: side.users.flatMap { blocks[Int($0)] }),
                    users: side.users, slots: side.slots, labels: side.labels)
            }
            return ItemTaskBatch(
                items: (0..<items).map(Int32.init), itemFeatures: Tensor.zeros([items, itemFeatureWidth]),
                support: rows(sides[0]), query: rows(sides[1]))
        }
    }

    /// After episodic training, reading 10 users of a new item scores its other users far better
    /// (pooled AUC) than the cold scorer, which cannot know the item's direction.
    @Test func supportBeatsCold() throws {
        let model = clickModel()
        var random = SeededGenerator(seed: 1)
        let base = model.initialParameters(using: &random)
        var options = MetaEmbeddingOptions(k: 10)
        options.seed = 4
        let lwa = try LinearWeightAdaptation(model: model, base: base, width: 8, options: options)
        var world = DirectionWorld(
            users: min(200, model.users.entityCount), width: model.userRepresentationWidth, seed: 9)
        let optimizer = Adam(groups: [ParameterGroup(lwa.parameters.tensors, learningRate: 0.01)])
        for _ in 0..<150 {
            let episode = world.batch(items: 16, support: 10, query: 10, itemFeatureWidth: model.itemFeatureWidth)
            let tensors = lwa.parameters.tensors
            optimizer.step(Gradients(tensors, gradients(of: lwa.objective(episode).objective, withRespectTo: tensors)))
        }
        let test = world.batch(items: 60, support: 10, query: 30, itemFeatureWidth: model.itemFeatureWidth)
        let nobody = ItemTaskRows(
            userBlocks: Tensor.zeros([0, model.userRepresentationWidth]), users: [], slots: [], labels: [])
        let warmScores = GradientMode.withoutRecording { lwa.logits(test).denseValues }
        let coldScores = GradientMode.withoutRecording { lwa.logits(test, support: nobody).denseValues }
        let warm = try #require(Metrics.areaUnderCurve(warmScores, test.query.labels))
        let cold = try #require(Metrics.areaUnderCurve(coldScores, test.query.labels))
        #expect(warm > 0.75, "LWA with 10 support users: AUC \(warm)")
        #expect(warm > cold + 0.15, "LWA with support \(warm) should beat cold \(cold)")
        #expect(coldScores.allSatisfy { $0.isFinite })
    }

    /// Fitting on warm click items runs the training loop with validation selection and leaves the base model alone;
    /// ratings are refused with a clear error.
    @Test func fitSelectsOnHeldOutItemsAndNeedsClicks() throws {
        let model = clickModel()
        var random = SeededGenerator(seed: 3)
        let base = model.initialParameters(using: &random)
        let before = base.copied()
        var options = MetaEmbeddingOptions(k: 5, epochs: 2, learningRate: 0.01)
        options.seed = 1
        let clicks = world.warm.map {
            Interaction(user: $0.user, item: $0.item, value: $0.value >= 4 ? 1 : 0, timestamp: $0.timestamp)
        }
        for method in [
            try LinearWeightAdaptation(model: model, base: base, width: 4, options: options) as any ItemTaskAdaptation,
            try NonlinearBiasAdaptation(model: model, base: base, width: 4, hiddenSizes: [4], options: options),
        ] {
            let summary = try method.fit(training: clicks, features: world.features)
            #expect(summary.epochsRun == 2 && summary.validationObjective.count == 3)
            #expect(summary.validationObjective[summary.bestEpoch] == summary.validationObjective.min())
            #expect(summary.trainingItems > 0 && summary.validationItems > 0)
        }
        for name in base.names { #expect(base.tensor(name).denseValues == before.tensor(name).denseValues) }
        #expect(throws: MetaEmbeddingError.self) {
            _ = try LinearWeightAdaptation(model: clickModel(objective: .rating), base: base, options: options)
        }
    }
}
