import Crypto
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

    /// The values a model reads and their range. A rating model reads raw ratings between
    /// `minimum` and `maximum`; a click model (`implicitThreshold` set: it was trained on ratings
    /// at or above the threshold as clicks) reads 1 for a click and 0 for a skip, and a raw rating
    /// becomes one through ``click(fromRating:)``.
    public struct FeedbackScale: Codable, Sendable, Equatable {
        /// Ratings at or above it were clicks (1) in training, others 0; nil for explicit ratings.
        public var implicitThreshold: Float?
        public var minimum: Float
        public var maximum: Float

        public init(implicitThreshold: Float?, minimum: Float, maximum: Float) {
            self.implicitThreshold = implicitThreshold
            self.minimum = minimum
            self.maximum = maximum
        }

        public var isClick: Bool { implicitThreshold != nil }

        /// Whether the model can read `value` as it stands: a click model 0 or 1, a rating model
        /// a rating the training data could hold.
        public func contains(_ value: Float) -> Bool {
            isClick ? value == 0 || value == 1 : value.isFinite && value >= minimum && value <= maximum
        }

        /// What the model reads, said for an error message.
        public var expected: String {
            isClick
                ? "0 (skip) or 1 (click), true or false, or a 'rating' compared with the click threshold \(implicitThreshold ?? 0)"
                : "a rating from \(minimum) to \(maximum)"
        }

        /// A raw rating as a click model reads it (nil for a rating model, which reads it as it is).
        public func click(fromRating rating: Float) -> Float? {
            guard let implicitThreshold, rating.isFinite else { return nil }
            return rating >= implicitThreshold ? 1 : 0
        }

        /// A predicted rating kept on the scale (a network's output is not bounded).
        public func clipped(_ score: Float) -> Float {
            isClick ? score : min(max(score, minimum), maximum)
        }

        /// The model's target for a value it reads (``contains(_:)``).
        public func target(_ value: Float) -> Float { value }
    }

    /// Training users' tasks that the live learner's replay starts with (`metarec learn`), so
    /// that its online updates replay, and its publish check scores, the users the offline model
    /// was trained on and not only the ones it has met since. A bundle therefore carries these
    /// users' features and some of their ratings; `train --replay-users 0` keeps none.
    public struct ReplayUsers: Codable, Sendable, Equatable {
        /// The most a bundle keeps by default: the live learner's reservoir holds 256.
        public static let defaultCount = 256
        /// Support rows kept a user at most (the protocol's query of 10 is kept whole).
        public static let supportRows = 20

        public struct Task: Codable, Sendable, Equatable {
            /// The user's features as a client would send them.
            public var features: [String: FeatureValue]
            /// Catalogue rows and values, support first.
            public var items: [Int32]
            public var values: [Float]
            public var supportCount: Int
        }
        public var tasks: [Task]

        /// Up to `count` warm (training) users, evenly spaced over them, each with their
        /// protocol task's query and up to ``supportRows`` of its support.
        public init(experiment: Experiment, count: Int) {
            let warm = experiment.split.tasks(.warm)
            let kept = max(0, min(count, warm.count))
            tasks = (0..<kept).map { warm[$0 * warm.count / kept] }.map { task in
                let support = task.support.prefix(Self.supportRows)
                let rows = Array(support) + task.query
                return Task(
                    features: experiment.dataset.rawUserFeatures.values(of: Int(task.user)), items: rows.map(\.item),
                    values: rows.map(\.value), supportCount: support.count)
            }
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
        /// Nil in bundles written before it, and when none were kept.
        public var replayUsers: ReplayUsers?
    }

    public var archive: ModelArchive
    public var description: Description
    /// "generator.weight" and "generator.bias" of a ``MetaEmbeddingGenerator``, or empty.
    public var generator: ParameterSet
    /// The SHA-256 of the bytes it was read from (or, for a bundle built in memory, of the bytes
    /// it writes): ``version(of:)``.
    public private(set) var version: String

    /// The bundle of a method trained in `experiment`, with the generator for new items if given.
    /// - Parameter replayUsers: training users kept for the live learner's replay (0: none; only
    ///   a meta-learner, the one kind that learns online, keeps any).
    public init(
        archive: ModelArchive, experiment: Experiment, generator: MetaEmbeddingGenerator? = nil,
        createdAt: Date = Date(), replayUsers: Int = ReplayUsers.defaultCount
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
            createdAt: Date(timeIntervalSince1970: createdAt.timeIntervalSince1970.rounded(.down)),  // ISO 8601 keeps whole seconds
            replayUsers: archive.header.kind == .metaLearner && replayUsers > 0
                ? ReplayUsers(experiment: experiment, count: replayUsers) : nil)
        self.generator = generator?.parameters ?? ParameterSet()
        self.version = ""
        self.version = (try? serialized()).map { Self.version(of: $0) } ?? ""
    }

    /// Writes the bundle atomically (the checkpoint's own write).
    public func write(to url: URL) throws {
        try checkpoint().write(to: url)
    }

    /// Reads a bundle; a model file in the old layout (no catalogue, no encoders) is refused
    /// with the command that rebuilds it.
    public init(contentsOf url: URL) throws {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url)
        } catch {
            throw ModelArchiveError(path: url.path, reason: "cannot be read: \(error.localizedDescription)")
        }
        try self.init(bytes: bytes, source: url)
    }

    /// Reads a bundle from its bytes (a file's, or a published version's from the store) and
    /// checks it (``validate()``): a bundle that would serve nonsense is refused with the reason.
    public init(bytes: Data, source url: URL) throws {
        let checkpoint = try Checkpoint(bytes: [UInt8](bytes), source: url.path)
        version = Self.version(of: bytes)
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
        if let problem = problem() { throw ModelArchiveError(path: url.path, reason: problem) }
    }

    /// The bundle as the bytes `write(to:)` stores.
    public func serialized() throws -> Data {
        Data(try checkpoint().serialized())
    }

    private func checkpoint() throws -> Checkpoint {
        var checkpoint = try archive.checkpoint()
        for name in generator.names {
            let tensor = generator.tensor(name)
            checkpoint.tensors[name] = StoredTensor(shape: tensor.shape, values: tensor.denseValues)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        checkpoint.metadata[Self.descriptionKey] = String(decoding: try encoder.encode(description), as: UTF8.self)
        return checkpoint
    }

    /// The SHA-256 of the bundle's bytes, in hex: the same weights give the same version, any
    /// change a new one (what `metarec publish` registers and `/v1/model` reports).
    public static func version(of bytes: some Sequence<UInt8>) -> String {
        SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
    }
}
