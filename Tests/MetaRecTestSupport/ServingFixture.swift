import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// Small model bundles for the serving tests: a meta-learner over the small synthetic world
/// (modulation partition, item-id embeddings and an untrained meta-embedding generator), a
/// covariance head, or a TaNP; written to a fresh temporary file.
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

    /// A small TaNP and its bundle file. Its FiLM weights are made large enough that feedback
    /// moves the scores; `epochs` > 0 then trains it on the warm users (selected on validation).
    public static func tanpBundle(itemIDEmbedding: Bool = true, epochs: Int = 0) throws -> (TaNP, URL) {
        var configuration = TaNP.Configuration()
        configuration.embeddingSize = 4
        configuration.encoderSize = 8
        configuration.representationSize = 6
        configuration.decoderSize = 12
        configuration.itemIDEmbedding = itemIDEmbedding
        configuration.outputBias = experiment.globalMean
        configuration.maxEpochs = max(epochs, 1)
        configuration.threads = 1
        let tanp = TaNP(
            configuration: configuration, users: FeatureSpace(experiment.split.userFeatures),
            items: FeatureSpace(experiment.split.itemFeatures))
        var random = SeededGenerator(seed: 3)
        for name in ["film.scale.weight", "film.shift.weight"] {
            let tensor = tanp.parameters.tensor(name)
            tensor.values = tensor.values.map { _ in random.normal(mean: 0, standardDeviation: 0.5) }
        }
        if epochs > 0 {
            try tanp.fit(
                training: experiment.split.warmRatingsByUser(), validation: experiment.validation,
                features: experiment.features)
        }
        let url = temporaryDirectory().appendingPathComponent("tanp.safetensors")
        try ModelBundle(archive: ModelArchive(tanp, data: description), experiment: experiment).write(to: url)
        return (tanp, url)
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

    /// A click model: the covariance head with its feedback scale as training on ratings with
    /// `--implicit-threshold 4` writes it (clicks 0/1, the threshold kept), and a prior mean
    /// that starts every score at 0.5, so that clicks raise and skips lower what a user is shown.
    public static func clickBundle() throws -> URL {
        let (head, url) = try covarianceBundle()
        var bundle = try ModelBundle(contentsOf: url)
        bundle.description.feedback = ModelBundle.FeedbackScale(implicitThreshold: 4, minimum: 0, maximum: 1)
        bundle.archive.header.covariance?.objective = .click
        bundle.archive.header.data.implicitThreshold = 4
        let bias = bundle.archive.parameters.tensor(ParameterName.priorBias)
        bias.values[head.dimension - 1] = 0.5
        let clicks = temporaryDirectory().appendingPathComponent("clicks.safetensors")
        try bundle.write(to: clicks)
        return clicks
    }

    /// The covariance bundle with Ψ = 0.4·I plus a small off-diagonal band (positive definite)
    /// for items added while serving, and its prior mean's weight on φ's trailing 1 set to 3 so
    /// that predicted ratings sit inside the 1-5 scale as a trained head's do.
    public static func covarianceBundleWithNewItemPrior() throws -> (CovarianceHead, NewItemPrior, URL) {
        let (head, url) = try covarianceBundle()
        var bundle = try ModelBundle(contentsOf: url)
        let k = head.dimension
        let bias = bundle.archive.parameters.tensor(ParameterName.priorBias)
        precondition(bias.shape == [k], "the prior bias has one value per dimension of φ")
        bias.values[k - 1] = 3
        let covariance = (0..<(k * k)).map { index -> Double in
            let (i, j) = (index / k, index % k)
            return i == j ? 0.4 : (abs(i - j) == 1 ? 0.05 : 0)
        }
        let prior = NewItemPrior(covariance: covariance, noiseVariance: head.noiseVariance, items: 17)
        bundle.archive.newItemPrior = prior
        let withPrior = temporaryDirectory().appendingPathComponent("head-psi.safetensors")
        try bundle.write(to: withPrior)
        return (head, prior, withPrior)
    }
}
