import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

/// Which learner `train` fits.
enum MethodArgument: String, ExpressibleByArgument, CaseIterable {
    case maml, firstOrderMAML = "fomaml", metaSGD = "meta-sgd", covariance, pretrained
}

/// The model and meta-training options shared by `train` and `demo`.
struct ModelArguments: ParsableArguments {
    @Option(help: "Which parameters adapt per user: decision-layers (MeLU), all, last-layer, or comma-separated name prefixes.")
    var partition: String = "decision-layers"

    @Option(help: "Inner (local) gradient steps on a user's support set.")
    var innerSteps: Int = 5

    @Option(help: "Inner learning rate (the initial value when learned by Meta-SGD); by default 0.05, or with --from-pretrained the fine-tuning rate chosen on validation users.")
    var innerLearningRate: Float?

    @Option(help: "Tasks per meta-update.")
    var metaBatchSize: Int = 32

    @Option(help: "Adam learning rate of the outer (meta) update.")
    var outerLearningRate: Float = 1e-3

    @Option(help: "Adam learning rate of the pretrained network (the protocol's baseline and the meta-learners' start).")
    var pretrainLearningRate: Float = 1e-3

    @Option(help: "Maximum epochs; the epoch kept is the one with the best validation score.")
    var epochs: Int = 30

    @Option(help: "Epochs without validation improvement before stopping.")
    var patience: Int = 6

    @Option(help: "Embedding width per feature field (MeLU: 32).")
    var embeddingSize: Int = 32

    @Option(help: "Hidden widths of the decision layers, comma-separated (MeLU: 64,64).")
    var hidden: String = "64,64"

    @Flag(inversion: .prefixedNo, help: "Add a learned item-id embedding (zero for new items).")
    var itemIDEmbedding = true

    @Option(help: "Pretraining: share of feature values replaced by 'unknown' and of ids dropped, so unseen values read as average, not bad (0: none).")
    var unseenMaskingRate: Float = 0

    @Flag(help: "Add a per-unit scale and shift after each hidden layer (needed by --partition modulation).")
    var modulation = false

    @Flag(help: "Start meta-training from the pretrained network's weights instead of at random (on ml-100k this selected no better validation score than fine-tuning).")
    var fromPretrained = false

    @Option(help: "Threads for the tasks of a meta-batch and for evaluation.")
    var threads: Int = 2

    func validate() throws {
        guard innerSteps >= 0, metaBatchSize > 0, epochs > 0, patience > 0, threads > 0, embeddingSize > 0 else {
            throw ValidationError("--inner-steps must be >= 0; --meta-batch-size, --epochs, --patience, --threads and --embedding-size must be positive")
        }
        if case .named(let prefixes) = ParameterPartition(parsing: partition) {
            let roots = ["user.", "item.", "decision.", "output.", "modulation."]
            for prefix in prefixes where !roots.contains(where: { prefix.hasPrefix($0) || $0.hasPrefix(prefix) }) || prefix.isEmpty {
                throw ValidationError(
                    "--partition: '\(prefix)' names no parameter; use all, decision-layers, last-layer, modulation, or name prefixes starting with \(roots.joined(separator: ", "))")
            }
        }
        guard unseenMaskingRate >= 0, unseenMaskingRate < 1 else { throw ValidationError("--unseen-masking-rate must be in [0, 1), got \(unseenMaskingRate)") }
        guard hiddenSizes != nil else { throw ValidationError("--hidden must be comma-separated positive integers, got '\(hidden)'") }
    }

    var hiddenSizes: [Int]? {
        let parts = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.map { $0! }
    }

    var model: MeLUModel.Configuration {
        MeLUModel.Configuration(
            embeddingSize: embeddingSize, hiddenSizes: hiddenSizes ?? [64, 64], itemIDEmbedding: itemIDEmbedding,
            modulation: modulation || ParameterPartition(parsing: partition) == .modulation)
    }

    var adaptation: AdaptationRule {
        AdaptationRule(partition: ParameterPartition(parsing: partition), steps: innerSteps, learningRate: innerLearningRate ?? 0.05)
    }

    /// - Parameter chosenRate: the inner rate selected on validation users, used unless
    ///   --inner-learning-rate was given.
    func metaOptions(order: MetaGradientOrder, learnsRates: Bool = false, chosenRate: Float? = nil) -> MetaTrainingOptions {
        var options = MetaTrainingOptions()
        options.adaptation = adaptation
        if innerLearningRate == nil, let chosenRate { options.adaptation.learningRate = chosenRate }
        options.order = order
        options.learnsInnerRates = learnsRates
        options.metaBatchSize = metaBatchSize
        options.outerLearningRate = outerLearningRate
        options.maxEpochs = epochs
        options.patience = patience
        options.threads = threads
        return options
    }

    var pretrainingOptions: PretrainedNetwork.Options {
        var options = PretrainedNetwork.Options()
        options.learningRate = pretrainLearningRate
        options.maxEpochs = min(epochs, 20)
        options.patience = min(patience, 3)
        options.threads = threads
        options.unseenMaskingRate = unseenMaskingRate
        return options
    }
}

/// A one-line progress bar on standard error: epoch, loss, validation score, ETA.
final class ProgressBar: @unchecked Sendable {
    let label: String
    let start = Date()
    let enabled: Bool

    init(_ label: String, enabled: Bool = true) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ progress: TrainingProgress) {
        guard enabled else { return }
        let total = progress.epochs * progress.stepsPerEpoch
        let done = (progress.epoch - 1) * progress.stepsPerEpoch + progress.step
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(max(total - done, 0)) : 0
        let width = 20
        let filled = min(width, Int(Double(width) * Double(progress.step) / Double(max(progress.stepsPerEpoch, 1))))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        var line = String(format: "\r%@ epoch %d/%d [%@] loss %.4f", label, progress.epoch, progress.epochs, bar, progress.trainingLoss)
        if let best = progress.bestValidationScore { line += String(format: " val %.4f", best) }
        line += " ETA \(Self.clock(eta)) (max)"
        FileHandle.standardError.write(Data(line.utf8))
        if progress.step == progress.stepsPerEpoch, let score = progress.validationScore {
            let note = String(format: "  epoch %d validation %.4f%@\n", progress.epoch, score, progress.isNewBest ? " (best)" : "")
            FileHandle.standardError.write(Data(note.utf8))
        }
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data(String(format: "%@ done in %.1f s\n", label, Date().timeIntervalSince(start)).utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Standard error, for logs that must not mix with a command's results on standard output.
func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
