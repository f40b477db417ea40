import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

/// Which learner `train` fits.
extension BundleMethod: ExpressibleByArgument {}

/// The model and training options shared by `train`, `evaluate` and `demo`. Their defaults are
/// the library's (`RunConfiguration.standard`), defined there once.
struct ModelArguments: ParsableArguments {
    private static let standard = RunConfiguration.standard

    @Option(
        help:
            "Which parameters adapt per user: decision-layers (MeLU), all, last-layer, modulation, or comma-separated name prefixes."
    )
    var partition: String = standard.metaTraining.adaptation.partition.description

    @Option(parsing: .unconditional, help: "Inner (local) gradient steps on a user's support set.")
    var innerSteps: Int = standard.metaTraining.adaptation.steps

    @Option(
        help: ArgumentHelp(
            "Inner learning rate (the initial value when Meta-SGD learns it).",
            discussion:
                "By default \(standard.metaTraining.adaptation.learningRate); with --from-pretrained, the fine-tuning rate chosen on validation users."
        ))
    var innerLearningRate: Float?

    @Option(parsing: .unconditional, help: "Tasks per meta-update.")
    var metaBatchSize: Int = standard.metaTraining.metaBatchSize

    @Option(parsing: .unconditional, help: "Adam learning rate of the outer (meta) update.")
    var outerLearningRate: Float = standard.metaTraining.outerLearningRate

    @Option(
        help: "Adam learning rate of the pretrained network (the protocol's baseline and the meta-learners' start).")
    var pretrainLearningRate: Float = standard.pretraining.learningRate

    @Option(parsing: .unconditional, help: "Maximum epochs; the epoch kept is the one with the best validation score.")
    var epochs: Int = standard.metaTraining.maxEpochs

    @Option(parsing: .unconditional, help: "Epochs without validation improvement before stopping.")
    var patience: Int = standard.metaTraining.patience

    @Option(parsing: .unconditional, help: "Embedding width per feature field (MeLU: 32).")
    var embeddingSize: Int = standard.model.embeddingSize

    @Option(help: "Hidden widths of the decision layers, comma-separated (MeLU: 64,64).")
    var hidden: String = standard.model.hiddenSizes.map(String.init).joined(separator: ",")

    @Flag(inversion: .prefixedNo, help: "Add a learned item-id embedding (zero for new items).")
    var itemIDEmbedding = standard.model.itemIDEmbedding

    @Option(
        help:
            "Pretraining: share of feature values replaced by 'unknown' and of ids dropped, so unseen values read as average, not bad (0: none)."
    )
    var unseenMaskingRate: Float = 0

    @Flag(help: "Add a per-unit scale and shift after each hidden layer (needed by --partition modulation).")
    var modulation = false

    @Flag(
        help: ArgumentHelp(
            "Start meta-training from the pretrained network's weights instead of at random.",
            discussion: "On ml-100k this selected no better validation score than fine-tuning the pretrained network."))
    var fromPretrained = false

    @Flag(
        inversion: .prefixedNo,
        help: "Choose the inner steps and rate per support size (1-2, 3-5, 6-10, 11+ ratings) on validation users.")
    var supportSchedule = standard.selectsSupportSchedule

    @Option(help: "Share of meta-training tasks whose support is cut to its earliest 1, 3 or 5 ratings.")
    var smallSupportShare: Float = standard.metaTraining.smallSupportShare ?? 0

    @Option(
        help: ArgumentHelp(
            "Seed of the initial weights and of the order of training.",
            discussion: "By default the split seed (--seed). Both seeds are recorded in reports and models."))
    var initSeed: UInt64?

    @Option(parsing: .unconditional, help: "Threads for the tasks of a meta-batch and for evaluation.")
    var threads: Int = standard.threads

    func validate() throws {
        try OptionChecks.integer(innerSteps, "--inner-steps", in: 0...100)
        try OptionChecks.integer(metaBatchSize, "--meta-batch-size", in: 1...4096)
        try OptionChecks.integer(epochs, "--epochs", in: 1...10_000)
        try OptionChecks.integer(patience, "--patience", in: 1...10_000)
        try OptionChecks.integer(threads, "--threads", in: 1...256)
        try OptionChecks.integer(embeddingSize, "--embedding-size", in: 1...OptionChecks.maximumEmbeddingSize)
        if let innerLearningRate { try OptionChecks.learningRate(innerLearningRate, "--inner-learning-rate") }
        try OptionChecks.learningRate(outerLearningRate, "--outer-learning-rate")
        try OptionChecks.learningRate(pretrainLearningRate, "--pretrain-learning-rate")
        if case .named(let prefixes) = ParameterPartition(parsing: partition) {
            let roots = ParameterName.Prefix.all
            for prefix in prefixes
            where !roots.contains(where: { prefix.hasPrefix($0) || $0.hasPrefix(prefix) }) || prefix.isEmpty {
                throw ValidationError(
                    "--partition: '\(prefix)' names no parameter; use all, decision-layers, last-layer, modulation, or name prefixes starting with \(roots.joined(separator: ", "))"
                )
            }
        }
        guard let sizes = hiddenSizes else {
            throw ValidationError("--hidden must be comma-separated positive integers, got '\(hidden)'")
        }
        guard sizes.count <= OptionChecks.maximumHiddenLayers,
            sizes.allSatisfy({ $0 <= OptionChecks.maximumHiddenSize })
        else {
            throw ValidationError(
                "--hidden allows at most \(OptionChecks.maximumHiddenLayers) layers of at most \(OptionChecks.maximumHiddenSize) units, got '\(hidden)'"
            )
        }
        guard smallSupportShare >= 0, smallSupportShare <= 1 else {
            throw ValidationError("--small-support-share must be in [0, 1], got \(smallSupportShare)")
        }
        guard unseenMaskingRate >= 0, unseenMaskingRate < 1 else {
            throw ValidationError("--unseen-masking-rate must be in [0, 1), got \(unseenMaskingRate)")
        }
    }

    var hiddenSizes: [Int]? {
        let parts = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.map { $0! }
    }

    var model: MeLUModel.Configuration {
        MeLUModel.Configuration(
            embeddingSize: embeddingSize, hiddenSizes: hiddenSizes ?? Self.standard.model.hiddenSizes,
            itemIDEmbedding: itemIDEmbedding,
            modulation: modulation || ParameterPartition(parsing: partition) == .modulation)
    }

    var adaptation: AdaptationRule {
        AdaptationRule(
            partition: ParameterPartition(parsing: partition), steps: innerSteps,
            learningRate: innerLearningRate ?? Self.standard.metaTraining.adaptation.learningRate)
    }

    /// The run's configuration: these options over the library's defaults, with the split's.
    func configuration(split: SplitOptions) -> RunConfiguration {
        var configuration = RunConfiguration.standard
        configuration.split = split
        configuration.initialisationSeed = initSeed
        configuration.threads = threads
        configuration.model = model
        configuration.metaTraining.adaptation = adaptation
        configuration.metaTraining.metaBatchSize = metaBatchSize
        configuration.metaTraining.outerLearningRate = outerLearningRate
        configuration.metaTraining.smallSupportShare = smallSupportShare
        configuration.selectsSupportSchedule = supportSchedule
        configuration.pretraining.learningRate = pretrainLearningRate
        configuration.pretraining.unseenMaskingRate = unseenMaskingRate
        configuration.setEpochs(epochs, patience: patience)
        return configuration
    }

    /// TaNP's configuration: its own sizes, with at most --epochs epochs and --patience
    /// (as the pretrained network's are capped, ``RunConfiguration/setEpochs(_:patience:)``).
    var tanp: TaNP.Configuration {
        var configuration = TaNP.Configuration()
        configuration.maxEpochs = min(epochs, configuration.maxEpochs)
        configuration.patience = min(patience, configuration.patience)
        return configuration
    }

    /// Meta-training options of the run's, with this gradient order.
    func metaOptions(_ configuration: RunConfiguration, order: MetaGradientOrder) -> MetaTrainingOptions {
        var options = configuration.metaTraining
        options.order = order
        return options
    }

    /// The library's recipe for a bundle of `method`, with these options.
    func recipe(_ method: BundleMethod, _ configuration: RunConfiguration, newItemGenerator: Bool) -> BundleRecipe {
        var recipe = BundleRecipe(method: method, metaTraining: configuration.metaTraining)
        recipe.fromPretrained = fromPretrained
        recipe.innerRateIsFixed = innerLearningRate != nil
        recipe.newItemGenerator = newItemGenerator
        recipe.tanp = tanp
        return recipe
    }
}
