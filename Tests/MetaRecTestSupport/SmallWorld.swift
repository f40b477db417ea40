import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// A small synthetic data set, split by the protocol, shared by the model tests.
public final class SmallWorld: @unchecked Sendable {
    public static let shared = SmallWorld()

    public let synthetic: SyntheticDataset
    public let split: ProtocolSplit
    public let features: FeatureContext
    public let validation: [PreparedTask]
    public let userCold: [PreparedTask]
    public let warm: [Interaction]
    public let globalMean: Float

    private init() {
        synthetic = BuiltInData.synthetic(seed: 3, users: 360, items: 120, targetInteractions: 16_000)
        split = try! ProtocolSplit(dataset: synthetic.dataset, options: SplitOptions())
        let features = FeatureContext(split)
        self.features = features
        validation = split.tasks(.validation).map { PreparedTask($0, features: features) }
        userCold = split.tasks(.userCold).map { PreparedTask($0, features: features) }
        warm = split.warmInteractions
        globalMean = GlobalMean(training: warm).mean
    }

    public func model(embedding: Int = 8, hidden: [Int] = [16], itemIDs: Bool = true) -> MeLUModel {
        MeLUModel(
            configuration: .init(
                embeddingSize: embedding, hiddenSizes: hidden, itemIDEmbedding: itemIDs, outputBias: globalMean),
            users: FeatureSpace(split.userFeatures), items: FeatureSpace(split.itemFeatures))
    }

    /// Mean over tasks of the query MAE.
    public func userColdMAE(_ predictor: ColdStartPredictor) -> Double {
        let errors = userCold.map { task -> Double in
            let predictions = predictor.predict(task)
            return zip(predictions, task.queryTargets.values).reduce(0.0) { $0 + Double(abs($1.0 - $1.1)) }
                / Double(task.queryCount)
        }
        return errors.reduce(0, +) / Double(errors.count)
    }

    public lazy var bestBaselineMAE: Double = {
        [GlobalMean(training: warm), UserMean(fallback: globalMean), ItemMean(training: warm)].map(userColdMAE).min()!
    }()
}
