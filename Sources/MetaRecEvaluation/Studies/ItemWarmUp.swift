import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Settings of the item warm-up evaluation (MetaEmb's protocol, Pan et al., SIGIR 2019).
public struct ItemWarmUpOptions: Sendable, Codable, Equatable {
    /// Examples per warm-up batch (a, b and c hold K each).
    public var k = 20
    /// An item is evaluated only with at least this many interactions after its 3K warm-up ones.
    public var minimumTestInteractions = 10
    /// SGD steps on the item's ID embedding per warm-up batch.
    public var stepsPerRound = 1
    /// SGD rate of the warm-up steps; nil: the generator's inner rate α.
    public var learningRate: Float?
    /// Seeds the random initialisation.
    public var seed: UInt64 = 0

    public init(
        k: Int = 20, minimumTestInteractions: Int = 10, stepsPerRound: Int = 1, learningRate: Float? = nil,
        seed: UInt64 = 0
    ) {
        self.k = k
        self.minimumTestInteractions = minimumTestInteractions
        self.stepsPerRound = stepsPerRound
        self.learningRate = learningRate
        self.seed = seed
    }

    /// Throws a ``MetaEmbeddingError`` naming the first bad setting.
    public func validate() throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition { throw MetaEmbeddingError("item warm-up options: \(message)") }
        }
        try check(k >= 1, "K (examples per warm-up batch) must be at least 1, got \(k)")
        try check(
            minimumTestInteractions >= 1,
            "the minimum number of test interactions must be at least 1, got \(minimumTestInteractions)")
        try check(stepsPerRound >= 0, "steps per round must not be negative, got \(stepsPerRound)")
        if let rate = learningRate {
            try check(rate.isFinite && rate >= 0, "the learning rate must be finite and non-negative, got \(rate)")
        }
    }
}

/// One new item's interactions with existing users, in time order: three warm-up batches, then its test interactions.
public struct ItemWarmUpItem: Sendable, Equatable {
    public var item: Int32
    /// Batches a, b and c.
    public var rounds: [[Interaction]]
    public var test: [Interaction]
}

/// The warm-up table: per initialisation, the test metrics before any interaction (cold) and after each warm-up batch.
public struct ItemWarmUpReport: Sendable, Codable {
    public struct PhaseResult: Sendable, Codable, Equatable {
        public var phase: String
        /// Pooled over all test interactions of all evaluated items.
        public var meanAbsoluteError: Double
        public var rootMeanSquaredError: Double
        /// The model's loss (MSE, or log-loss for clicks), pooled.
        public var loss: Double
        /// Clicks only: AUC over all test interactions pooled.
        public var auc: Double?
        /// Clicks only: mean per-item AUC (GAUC) over items with both classes among their test interactions.
        public var gauc: Double?
        public var gaucItems: Int
    }

    public struct Row: Sendable, Codable {
        public var initialisation: String
        public var phases: [PhaseResult]
    }

    public var dataset: String
    public var seed: UInt64
    public var implicitFeedback: Bool
    public var options: ItemWarmUpOptions
    /// The warm-up rate actually used.
    public var learningRate: Float
    /// New items, those with any interaction from existing users, and those evaluated (≥ 3K + minimum test).
    public var newItems: Int
    public var newItemsWithInteractions: Int
    public var items: Int
    public var warmUpInteractions: Int
    public var testInteractions: Int
    public var rows: [Row]
    public var generator: MetaEmbeddingTrainingSummary?
    public var generatorOptions: MetaEmbeddingOptions?
    public var wallSeconds: Double
    /// Methods left out of the table and why (e.g. LWA and NLBA on explicit ratings).
    public var notes: [String]? = nil

    public func json() throws -> String { try JSONFormat.string(self) }

    /// Markdown tables: rows are initialisations, columns cold, a, b, c.
    public func markdown() -> String {
        var lines: [String] = []
        lines.append(
            "## \(dataset) item warm-up (MetaEmb protocol, seed \(seed), \(implicitFeedback ? "implicit" : "explicit") feedback)"
        )
        lines.append("")
        lines.append(
            "New items (existing users only): \(newItems) new, \(newItemsWithInteractions) with interactions, \(items) with at least "
                + "3K + \(options.minimumTestInteractions) = \(3 * options.k + options.minimumTestInteractions); K = \(options.k), "
                + "\(options.stepsPerRound) SGD step(s) of rate \(learningRate) per batch on the ID embedding only. "
                + "Warm-up interactions \(warmUpInteractions), test interactions \(testInteractions). Wall time \(String(format: "%.1f", wallSeconds)) s."
        )
        lines.append("")
        func format(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "n/a" }
            return String(format: "%.4f", value)
        }
        func table(_ title: String, _ metric: (PhaseResult) -> Double?) {
            lines.append(title)
            lines.append("")
            let phases = rows.first?.phases.map(\.phase) ?? []
            lines.append("| initialisation | " + phases.joined(separator: " | ") + " |")
            lines.append("|---|" + phases.map { _ in "---:|" }.joined())
            for row in rows {
                lines.append(
                    "| \(row.initialisation) | " + row.phases.map { format(metric($0)) }.joined(separator: " | ") + " |"
                )
            }
            lines.append("")
        }
        if implicitFeedback {
            table("AUC (pooled over all test interactions):", \.auc)
            table(
                "GAUC (mean per-item AUC, \(rows.first?.phases.first?.gaucItems ?? 0) items with both classes):", \.gauc
            )
            table("Log-loss:", \.loss)
        } else {
            table("MAE (pooled over all test interactions):", \.meanAbsoluteError)
            table("RMSE:", \.rootMeanSquaredError)
        }
        for note in notes ?? [] {
            lines.append("Note: \(note)")
            lines.append("")
        }
        if let generator {
            lines.append(
                "Generator: \(generator.trainingItems) training and \(generator.validationItems) validation warm items; "
                    + "epoch \(generator.bestEpoch) of \(generator.epochsRun) selected by validation objective "
                    + String(
                        format: "%.4f (cold %.4f, warm %.4f); %.1f s.",
                        generator.validationObjective[generator.bestEpoch],
                        generator.validationColdLoss, generator.validationWarmLoss, generator.seconds))
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }
}

/// MetaEmb's warm-up protocol on the protocol's item-cold scenario: each new item's ID embedding
/// starts from an initialisation, then takes SGD steps on warm-up batches a, b and c (the rest of
/// the model frozen), and the item's later interactions are scored after each phase.
public enum ItemWarmUp {
    public static let phases = ["cold", "a", "b", "c"]

    /// New items' interactions with existing users (`dataset.interactions`), per item in time order
    /// (ties by user); items with fewer than 3K + `minimumTestInteractions` are left out.
    public static func items(dataset: Dataset, split: ProtocolSplit, k: Int, minimumTestInteractions: Int) -> (
        items: [ItemWarmUpItem], withInteractions: Int
    ) {
        var existing = [Bool](repeating: false, count: dataset.userCount)
        for u in split.existingUsers { existing[Int(u)] = true }
        var byItem: [Int32: [Interaction]] = [:]
        for x in dataset.interactions where split.isNewItem[Int(x.item)] && existing[Int(x.user)] {
            byItem[x.item, default: []].append(x)
        }
        var result: [ItemWarmUpItem] = []
        for item in byItem.keys.sorted() {
            let all = byItem[item]!.sorted {
                $0.timestamp != $1.timestamp ? $0.timestamp < $1.timestamp : $0.user < $1.user
            }
            guard all.count >= 3 * k + minimumTestInteractions else { continue }
            let rounds = (0..<3).map { Array(all[($0 * k)..<(($0 + 1) * k)]) }
            result.append(ItemWarmUpItem(item: item, rounds: rounds, test: Array(all[(3 * k)...])))
        }
        return (result, byItem.count)
    }

    /// Warms up the ID embeddings of `items` from `initial` (`[items.count, E]`) and scores the test
    /// interactions after each phase. Only the rows of `items` in a copy of the item-id table
    /// change; the returned parameters are that copy after the last phase.
    public static func run(
        model: MeLUModel, parameters base: ParameterSet, items: [ItemWarmUpItem], initial: Tensor,
        features: FeatureContext, k: Int, steps: Int, learningRate: Float
    ) -> (phases: [ItemWarmUpReport.PhaseResult], parameters: ParameterSet) {
        let name = MeLUModel.itemIDEmbeddingName
        let parameters = base.copied()
        let table = parameters.tensor(name)
        let width = table.shape[1]
        precondition(
            initial.shape == [items.count, width],
            "ItemWarmUp.run: initial embeddings of shape \(initial.shape), expected [\(items.count), \(width)]")
        let start = initial.denseValues
        for (slot, item) in items.enumerated() {
            for j in 0..<width { table.values[Int(item.item) * width + j] = start[slot * width + j] }
        }
        let optimizer = SGD(groups: [ParameterGroup([table], learningRate: learningRate)])
        func encode(_ rows: [Interaction]) -> (EntityBatch, EntityBatch, Tensor) {
            (
                EntityBatch(features.users, entities: rows.map(\.user)),
                EntityBatch(features.items, entities: rows.map(\.item)),
                Tensor(shape: [rows.count, 1], values: rows.map(\.value))
            )
        }
        let test = TestRows(items: items, features: features)
        func evaluate(_ phase: String) -> ItemWarmUpReport.PhaseResult {
            score(phase: phase, model: model, parameters: parameters, items: items, test: test)
        }
        var phases = [evaluate(phases[0])]
        for round in 0..<3 {
            let rows = items.flatMap { $0.rounds[round] }
            precondition(
                items.allSatisfy { $0.rounds[round].count == k }, "ItemWarmUp.run: every warm-up batch must hold K rows"
            )
            let (users, itemBatch, targets) = encode(rows)
            for _ in 0..<steps {
                // n × the mean loss is the sum of each item's mean loss over its K rows: each row of
                // the table gets the gradient of its own item's batch loss.
                let loss =
                    model.loss(model.predict(user: users, items: itemBatch, parameters: parameters), targets)
                    * Float(items.count)
                optimizer.step(Gradients([table], gradients(of: loss, withRespectTo: [table])))
            }
            phases.append(evaluate(Self.phases[round + 1]))
        }
        return (phases, parameters)
    }

    /// The test interactions of all items, encoded once.
    struct TestRows {
        var users: EntityBatch
        var items: EntityBatch
        var targets: Tensor

        init(items list: [ItemWarmUpItem], features: FeatureContext) {
            let test = list.flatMap(\.test)
            users = EntityBatch(features.users, entities: test.map(\.user))
            items = EntityBatch(features.items, entities: test.map(\.item))
            targets = Tensor(shape: [test.count, 1], values: test.map(\.value))
        }
    }

    /// The phase's metrics of `parameters` on the test interactions (pooled; GAUC per item for clicks).
    static func score(
        phase: String, model: MeLUModel, parameters: ParameterSet, items: [ItemWarmUpItem], test: TestRows
    ) -> ItemWarmUpReport.PhaseResult {
        let (testUsers, testItems) = (test.users, test.items)
        let outputs = GradientMode.withoutRecording {
            model.predict(user: testUsers, items: testItems, parameters: parameters)
        }
        return score(phase: phase, model: model, outputs: outputs, targets: test.targets, items: items)
    }

    /// The phase's metrics of raw `outputs` (ratings or click logits, `[rows, 1]`) against the test
    /// `targets` of `items` in their order.
    static func score(
        phase: String, model: MeLUModel, outputs: Tensor, targets testTargets: Tensor, items: [ItemWarmUpItem]
    ) -> ItemWarmUpReport.PhaseResult {
        let loss = GradientMode.withoutRecording { Double(model.loss(outputs, testTargets).scalar) }
        let scores = model.score(outputs.values)
        let targets = testTargets.values
        var result = ItemWarmUpReport.PhaseResult(
            phase: phase, meanAbsoluteError: Metrics.meanAbsoluteError(scores, targets),
            rootMeanSquaredError: Metrics.rootMeanSquaredError(scores, targets), loss: loss, auc: nil, gauc: nil,
            gaucItems: 0)
        if model.configuration.objective == .click {
            result.auc = Metrics.areaUnderCurve(scores, targets)
            var aucs: [Double] = []
            var offset = 0
            for item in items {
                let range = offset..<(offset + item.test.count)
                offset += item.test.count
                if let auc = Metrics.areaUnderCurve(Array(scores[range]), Array(targets[range])) { aucs.append(auc) }
            }
            result.gauc = aucs.isEmpty ? nil : aucs.reduce(0, +) / Double(aucs.count)
            result.gaucItems = aucs.count
        }
        return result
    }
}

extension Experiment {
    /// Trains a meta-embedding generator for `base`, selected among `innerRates` on held-out warm
    /// items (``Experiment/trainMetaEmbedding(model:parameters:options:innerRates:monitor:log:)``).
    /// - Parameter innerRates: candidate inner rates α; nil or empty: `options.innerLearningRate`.
    public func trainMetaEmbedding(
        base: PretrainedNetwork, options: MetaEmbeddingOptions = .init(), innerRates: [Float]? = nil,
        monitor: TrainingMonitor = .silent, log: ((String) -> Void)? = nil
    ) throws -> MetaEmbeddingGenerator {
        try trainMetaEmbedding(
            model: base.model, parameters: base.parameters, options: options, innerRates: innerRates ?? [],
            monitor: monitor, log: log)
    }

    /// MetaEmb's warm-up table on this experiment's new items: initialisations zero (the base model
    /// as is), random N(0, σ²) with σ the trained embeddings' standard deviation, the mean trained
    /// embedding, and the generator's output.
    /// With `metaWarmUp`, MWUF's row follows (its raw embedding starts at the mean and takes the
    /// same SGD steps, through the warming).
    public func itemWarmUp(
        base: PretrainedNetwork, generator: MetaEmbeddingGenerator, metaWarmUp: MetaWarmUp? = nil,
        itemTasks: [any ItemTaskAdaptation] = [], options: ItemWarmUpOptions = .init(),
        log: ((String) -> Void)? = nil
    ) throws -> ItemWarmUpReport {
        try options.validate()
        let start = Date()
        guard base.parameters[MeLUModel.itemIDEmbeddingName] != nil else {
            throw MetaEmbeddingError(
                "the base network has no item-id embeddings; train it with MeLUModel.Configuration(itemIDEmbedding: true)"
            )
        }
        let (items, withInteractions) = ItemWarmUp.items(
            dataset: dataset, split: split, k: options.k,
            minimumTestInteractions: options.minimumTestInteractions)
        guard !items.isEmpty else {
            throw MetaEmbeddingError(
                "item warm-up: no new item has 3K + \(options.minimumTestInteractions) = \(3 * options.k + options.minimumTestInteractions) interactions from existing users (\(withInteractions) have some); lower K"
            )
        }
        let width = base.model.configuration.embeddingSize
        let statistics = MetaEmbeddingGenerator.idEmbeddingStatistics(base.parameters, items: trainedItems)
        var random = SeededGenerator(seed: options.seed).derived("item-warm-up-random")
        let ids = items.map(\.item)
        let initialisations: [(String, Tensor)] = [
            ("zero (base model as is)", Tensor.zeros([items.count, width])),
            (
                "random N(0, σ²)",
                Tensor.normal([items.count, width], standardDeviation: statistics.standardDeviation, using: &random)
            ),
            (
                "mean warm embedding",
                Tensor(
                    shape: [items.count, width], values: Array((0..<items.count).map { _ in statistics.mean }.joined()))
            ),
            ("MetaEmb (generated)", generator.embeddings(for: ids, features: features.items)),
        ]
        let rate = options.learningRate ?? generator.options.innerLearningRate
        var rows: [ItemWarmUpReport.Row] = []
        for (name, initial) in initialisations {
            log?("item warm-up: \(name)")
            let result = ItemWarmUp.run(
                model: base.model, parameters: base.parameters, items: items, initial: initial,
                features: features, k: options.k, steps: options.stepsPerRound, learningRate: rate)
            rows.append(.init(initialisation: name, phases: result.phases))
        }
        if let metaWarmUp {
            log?("item warm-up: MWUF")
            let phases = ItemWarmUp.runMetaWarmUp(
                metaWarmUp, items: items, features: features, k: options.k,
                steps: options.stepsPerRound, learningRate: rate)
            rows.append(.init(initialisation: "MWUF (scaled and shifted mean)", phases: phases))
        }
        for method in itemTasks {
            log?("item warm-up: \(method.name)")
            let phases = ItemWarmUp.runItemTaskAdaptation(method, items: items, features: features)
            rows.append(.init(initialisation: "\(method.name) (support read, no step)", phases: phases))
        }
        let implicit: Bool
        if case .implicit = dataset.feedback { implicit = true } else { implicit = false }
        return ItemWarmUpReport(
            dataset: dataset.name, seed: seed, implicitFeedback: implicit, options: options, learningRate: rate,
            newItems: split.isNewItem.filter { $0 }.count, newItemsWithInteractions: withInteractions,
            items: items.count,
            warmUpInteractions: items.count * 3 * options.k, testInteractions: items.reduce(0) { $0 + $1.test.count },
            rows: rows, generator: generator.summary, generatorOptions: generator.options,
            wallSeconds: Date().timeIntervalSince(start))
    }

    /// Trains the generator on the warm items, then runs the warm-up table (`metarec evaluate --item-warmup`).
    public func itemWarmUp(
        base: PretrainedNetwork, generatorOptions: MetaEmbeddingOptions = .init(), innerRates: [Float]? = nil,
        options: ItemWarmUpOptions = .init(), monitor: TrainingMonitor = .silent, log: ((String) -> Void)? = nil
    ) throws -> ItemWarmUpReport {
        try options.validate()
        let start = Date()
        let generator = try trainMetaEmbedding(
            base: base, options: generatorOptions, innerRates: innerRates, monitor: monitor, log: log)
        let metaWarmUp = try trainMetaWarmUp(base: base, options: generatorOptions, monitor: monitor, log: log)
        // LWA and NLBA learn from engaged and non-engaged users: click data only (as in the paper).
        let clicks = base.model.configuration.objective == .click
        let itemTasks =
            try clicks
            ? trainItemTaskAdaptations(base: base, options: generatorOptions, monitor: monitor, log: log) : []
        var report = try itemWarmUp(
            base: base, generator: generator, metaWarmUp: metaWarmUp, itemTasks: itemTasks, options: options, log: log)
        if !clicks {
            report.notes = [
                "LWA and NLBA (Vartak et al., 2017) are left out: they need click data (run with --implicit-threshold)."
            ]
        }
        report.wallSeconds = Date().timeIntervalSince(start)
        return report
    }
}
