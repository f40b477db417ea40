import Foundation
import MetaRecCore
import MetaRecData

/// A trained model that stands alone: everything `recommend` and `serve` need without the
/// training data. One safetensors file (Python's `safetensors` opens it): the method's tensors
/// (``ModelArchive``), the meta-embedding generator's tensors when there is one, and in the
/// header's metadata a JSON ``Description`` with the fitted feature encoders, the item catalogue
/// (external ids, titles, raw features, training popularity) and the provenance of the data.
///
/// ```swift
/// try ModelBundle(archive: ModelArchive(learner, data: description), experiment: experiment).write(to: url)
/// let recommender = try Recommender(bundle: ModelBundle(contentsOf: url))
/// ```
public struct ModelBundle: Sendable {
    /// Bumped whenever the description's layout changes incompatibly.
    public static let formatVersion = 2
    static let descriptionKey = "metarec.bundle"
    static let generatorPrefix = "generator."

    /// The items training knew, in the order of the model's internal item ids.
    public struct Catalogue: Codable, Sendable, Equatable {
        public var ids: [String]
        public var titles: [String]?
        public var rawFeatures: RawFeatures
        /// Interactions of each item in the warm training data: "popular first" questions.
        public var popularity: [Int]
        /// Users in the warm training data: an item's popularity over it is the chance a new user
        /// knows the item (nil in bundles written before it was stored).
        public var trainingUsers: Int?
    }

    /// How feedback values map to the model's targets, and their range.
    public struct FeedbackScale: Codable, Sendable, Equatable {
        /// Values at or above it are clicks (1), others 0; nil for explicit ratings.
        public var implicitThreshold: Float?
        public var minimum: Float
        public var maximum: Float

        /// Whether a raw feedback value is one the training data could hold.
        public func contains(_ value: Float) -> Bool { value.isFinite && value >= minimum && value <= maximum }

        /// A predicted rating kept on the scale (a network's output is not bounded).
        public func clipped(_ score: Float) -> Float {
            implicitThreshold == nil ? min(max(score, minimum), maximum) : score
        }

        /// The model's target for a raw feedback value.
        public func target(_ value: Float) -> Float {
            guard let implicitThreshold else { return value }
            return value >= implicitThreshold ? 1 : 0
        }
    }

    public struct Description: Codable, Sendable {
        public var formatVersion: Int
        public var userEncoder: FeatureEncoder
        public var itemEncoder: FeatureEncoder
        public var catalogue: Catalogue
        public var feedback: FeedbackScale
        /// Input file → SHA-256 of the training data, and the split seed (in the archive's header).
        public var fileChecksums: [String: String]
        /// The meta-embedding generator's output scale, when the bundle holds a generator.
        public var generatorScale: Float?
        public var createdAt: Date
    }

    public var archive: ModelArchive
    public var description: Description
    /// "generator.weight" and "generator.bias" of a ``MetaEmbeddingGenerator``, or empty.
    public var generator: ParameterSet

    /// The bundle of a method trained in `experiment`, with the generator for new items if given.
    public init(
        archive: ModelArchive, experiment: Experiment, generator: MetaEmbeddingGenerator? = nil,
        createdAt: Date = Date()
    ) {
        let dataset = experiment.dataset
        var popularity = [Int](repeating: 0, count: dataset.itemCount)
        for interaction in experiment.split.warmInteractions { popularity[Int(interaction.item)] += 1 }
        let values = dataset.interactions.map(\.value)
        var threshold: Float?
        if case .implicit(let t) = dataset.feedback { threshold = t }
        self.archive = archive
        self.description = Description(
            formatVersion: Self.formatVersion, userEncoder: experiment.split.userEncoder,
            itemEncoder: experiment.split.itemEncoder,
            catalogue: Catalogue(
                ids: dataset.itemIDs, titles: dataset.itemTitles, rawFeatures: dataset.rawItemFeatures,
                popularity: popularity,
                trainingUsers: Set(experiment.split.warmInteractions.map(\.user)).count),
            feedback: FeedbackScale(
                implicitThreshold: threshold, minimum: values.min() ?? 0, maximum: values.max() ?? 1),
            fileChecksums: dataset.fileChecksums, generatorScale: generator?.scale,
            createdAt: Date(timeIntervalSince1970: createdAt.timeIntervalSince1970.rounded(.down)))  // ISO 8601 keeps whole seconds
        self.generator = generator?.parameters ?? ParameterSet()
    }

    /// Writes the bundle atomically (the checkpoint's own write).
    public func write(to url: URL) throws {
        var checkpoint = try archive.checkpoint()
        for name in generator.names {
            let tensor = generator.tensor(name)
            checkpoint.tensors[name] = StoredTensor(shape: tensor.shape, values: tensor.denseValues)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        checkpoint.metadata[Self.descriptionKey] = String(decoding: try encoder.encode(description), as: UTF8.self)
        try checkpoint.write(to: url)
    }

    /// Reads a bundle; a model file in the old layout (no catalogue, no encoders) is refused
    /// with the command that rebuilds it.
    public init(contentsOf url: URL) throws {
        let checkpoint = try Checkpoint(contentsOf: url)
        archive = try ModelArchive(checkpoint: checkpoint, source: url)
        guard let json = checkpoint.metadata[Self.descriptionKey] else {
            let data = archive.header.data
            throw ModelArchiveError(
                path: url.path,
                reason:
                    "this model file has the old layout (no item catalogue or feature encoders), which serving cannot use; "
                    + "retrain it with this version: metarec train --data \(data.source) --seed \(data.seed) --out \(url.lastPathComponent)"
            )
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            description = try decoder.decode(Description.self, from: Data(json.utf8))
        } catch {
            throw ModelArchiveError(path: url.path, reason: "the bundle description cannot be read: \(error)")
        }
        guard description.formatVersion == Self.formatVersion else {
            throw ModelArchiveError(
                path: url.path,
                reason:
                    "bundle format \(description.formatVersion), this version reads format \(Self.formatVersion); retrain with metarec train"
            )
        }
        var generator = ParameterSet()
        for (name, stored) in checkpoint.tensors where name.hasPrefix(Self.generatorPrefix) {
            generator[name] = Tensor(shape: stored.shape, values: stored.values)
        }
        self.generator = generator
        guard description.catalogue.ids.count == archive.header.items.entityCount else {
            throw ModelArchiveError(
                path: url.path,
                reason:
                    "the catalogue lists \(description.catalogue.ids.count) items, the model was built for \(archive.header.items.entityCount)"
            )
        }
    }

    /// A short identifier of this trained model (hash of its description and creation time).
    public var version: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        let text =
            "\(archive.header.kind.rawValue)|\(archive.header.data.name)|\(archive.header.data.seed)|\(description.createdAt.timeIntervalSince1970)|\(description.catalogue.ids.count)"
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
