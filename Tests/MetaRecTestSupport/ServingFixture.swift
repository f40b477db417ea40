import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Small model bundles for the serving tests: a meta-learner over the small synthetic world
/// (modulation partition, item-id embeddings and an untrained meta-embedding generator), or a
/// covariance head; written to a fresh temporary file.
public enum ServingFixture {
    public static let experiment: Experiment = try! Experiment(
        dataset: SmallWorld.shared.synthetic.dataset, seed: 0, threads: 1)

    public static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-serving-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public static let description = ModelArchive.DataDescription(
        name: "small", source: "synthetic", seed: 0, implicitThreshold: nil)

    /// A meta-learner (untrained: equality of paths does not need training) and its bundle file.
    public static func metaLearnerBundle(partition: ParameterPartition = .modulation, generator: Bool = true) throws
        -> (MetaLearner, MetaEmbeddingGenerator?, URL)
    {
        var options = MetaTrainingOptions()
        options.adaptation = AdaptationRule(partition: partition, steps: 3, learningRate: 0.1)
        let learner = experiment.makeMetaLearner(
            options: options, model: .init(embeddingSize: 8, hiddenSizes: [16], itemIDEmbedding: true, modulation: true)
        )
        let made =
            generator ? try MetaEmbeddingGenerator(model: learner.model, base: learner.parameters, scale: 0.2) : nil
        let url = temporaryDirectory().appendingPathComponent("model.safetensors")
        try ModelBundle(archive: ModelArchive(learner, data: description), experiment: experiment, generator: made)
            .write(to: url)
        return (learner, made, url)
    }

    public static func covarianceBundle() throws -> (CovarianceHead, URL) {
        var configuration = CovarianceHead.Configuration()
        configuration.embeddingSize = 8
        configuration.representationSize = 6
        let head = CovarianceHead(
            configuration: configuration, users: FeatureSpace(experiment.split.userFeatures),
            items: FeatureSpace(experiment.split.itemFeatures), noiseVariance: 0.8)
        let url = temporaryDirectory().appendingPathComponent("head.safetensors")
        try ModelBundle(archive: ModelArchive(head, data: description), experiment: experiment).write(to: url)
        return (head, url)
    }
}
