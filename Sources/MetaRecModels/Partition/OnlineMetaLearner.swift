import Dispatch
import MetaRecCore
import MetaRecData

/// The online stage of "Learning to Recommend via Meta Parameter Partition" (Zhao et al.,
/// arXiv 1912.04108): after offline meta-training, the fixed (shared) parameters are frozen and
/// only the adaptive part's initialisation keeps learning as new users stream in. Each user is
/// adapted from their first ratings and predicted on their next ones before being learned from
/// (prequential), and only their adapted adaptive part needs storing.
///
/// Forgetting of earlier users is guarded by replay: each online meta-update mixes the new
/// user's task with tasks drawn from a reservoir of earlier ones (offline users first). The
/// replayed tasks' mean loss and the new user's loss are weighed `replayWeight : 1 − replayWeight`,
/// as experience replay does with a memory batch beside the incoming one (Chaudhry et al., "On
/// Tiny Episodic Memories in Continual Learning", arXiv 1902.10486): how many tasks are replayed
/// sets how well their loss is estimated, not how much it outweighs the present.
///
/// ```swift
/// let online = OnlineMetaLearner(offline: learner, options: .init())
/// online.seedReplay(with: warmTasks)
/// for task in stream { let step = online.process(task) }
/// ```
public final class OnlineMetaLearner: @unchecked Sendable {
    public struct Options: Sendable, Codable, Equatable {
        /// Earlier tasks replayed with each new user's (0 turns the guard off).
        public var replayTasks = 7
        /// Reservoir size of earlier tasks kept for replay.
        public var replayCapacity = 256
        /// The replayed tasks' share of each meta-update, in [0, 1); the new user has the rest.
        /// Nil weighs every task alike, `replayTasks / (replayTasks + 1)`: the new user's
        /// gradient is then one eighth of the update with 7 replayed, which held the start to
        /// the earlier users' tastes on a stream whose tastes move (Docs/results.md, the trend
        /// stream).
        public var replayWeight: Float? = 0.5
        /// Adam learning rate of the online meta-updates.
        public var learningRate: Float = 3e-4
        /// Whether to meta-update at all (false gives the offline-only stream).
        public var updates = true
        public var seed: UInt64 = 0
        public init() {}

        private enum CodingKeys: String, CodingKey {
            case replayTasks, replayCapacity, replayWeight, learningRate, updates, seed
        }

        /// Reads options written before `replayWeight` existed as what those runs did: every task alike.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            replayTasks = try container.decode(Int.self, forKey: .replayTasks)
            replayCapacity = try container.decode(Int.self, forKey: .replayCapacity)
            replayWeight = try container.decodeIfPresent(Float.self, forKey: .replayWeight)
            learningRate = try container.decode(Float.self, forKey: .learningRate)
            updates = try container.decode(Bool.self, forKey: .updates)
            seed = try container.decode(UInt64.self, forKey: .seed)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(replayTasks, forKey: .replayTasks)
            try container.encode(replayCapacity, forKey: .replayCapacity)
            try container.encodeIfPresent(replayWeight, forKey: .replayWeight)
            try container.encode(learningRate, forKey: .learningRate)
            try container.encode(updates, forKey: .updates)
            try container.encode(seed, forKey: .seed)
        }
    }

    /// What happened for one streaming user.
    public struct Step: Sendable {
        /// Scores of the query rows, made before the user was learned from.
        public var predictions: [Float]
        public var adaptationSeconds: Double
        public var updateSeconds: Double
    }

    public let learner: MetaLearner
    public let options: Options
    /// The adaptive parameters' names: what each user stores and what the online stage updates.
    public let adaptiveNames: [String]
    private let optimizer: Adam
    private var reservoir: [PreparedTask] = []
    private var seen = 0
    private var random: SeededGenerator
    /// Online meta-updates made so far (0 when `updates` is off).
    public private(set) var updatesMade = 0
    /// Updates left out because their gradient was not finite (see ``process(_:)``).
    public private(set) var skippedUpdates = 0
    /// Earlier tasks drawn from the reservoir into those updates so far (0 without replay).
    public private(set) var replayedTasks = 0

    /// Takes over an offline-trained learner; its adaptive initialisation is updated in place.
    public init(offline learner: MetaLearner, options: Options) {
        self.learner = learner
        self.options = options
        adaptiveNames = learner.options.adaptation.partition.adaptive(learner.parameters.names)
        optimizer = Adam(groups: [
            ParameterGroup(learner.parameters.tensors(adaptiveNames), learningRate: options.learningRate)
        ])
        random = SeededGenerator(seed: options.seed).derived("online")
    }

    /// Bytes each user's adapted part takes (Float32).
    public var bytesPerUser: Int { adaptiveNames.reduce(0) { $0 + learner.parameters.tensor($1).count } * 4 }

    /// The tasks kept for replay (what a check against forgetting can score the start on).
    public var replayReservoir: [PreparedTask] { reservoir }

    /// Fills the replay reservoir with earlier users' tasks.
    public func seedReplay(with tasks: [PreparedTask]) {
        for task in tasks { remember(task) }
    }

    /// Predicts the user's query rows after adapting to their support rows, then (if enabled)
    /// meta-updates the adaptive initialisation on this task plus replayed earlier ones.
    public func process(_ task: PreparedTask) -> Step {
        let start = DispatchTime.now().uptimeNanoseconds
        let predictions = learner.predict(task)
        let adapted = DispatchTime.now().uptimeNanoseconds
        if options.updates {
            var replayed: [PreparedTask] = []
            if options.replayTasks > 0 && !reservoir.isEmpty {
                let count = min(options.replayTasks, reservoir.count)
                replayed = random.sample(count, from: reservoir.count).map { reservoir[$0] }
                replayedTasks += count
            }
            let targets = learner.parameters.tensors(adaptiveNames)
            let gradients = updateGradients(task, replayed: replayed, targets: targets)
            // A task whose inner loop diverged (too large a rate for its ratings) gives a
            // non-finite gradient; one such step would make the start, and every later user's
            // prediction, NaN. It is skipped and counted instead.
            if gradients.allSatisfy({ $0.allSatisfy(\.isFinite) }) {
                optimizer.step(Gradients(targets, zip(targets, gradients).map { Tensor(shape: $0.shape, values: $1) }))
                updatesMade += 1
            } else {
                skippedUpdates += 1
            }
            remember(task)
        }
        let updated = DispatchTime.now().uptimeNanoseconds
        return Step(
            predictions: predictions, adaptationSeconds: Double(adapted - start) / 1e9,
            updateSeconds: Double(updated - adapted) / 1e9)
    }

    /// The online meta-gradient of the adaptive initialisation: the new user's task and the
    /// replayed ones' mean, weighed by `replayWeight` (or all tasks alike when it is nil).
    func updateGradients(_ task: PreparedTask, replayed: [PreparedTask], targets: [Tensor]? = nil) -> [[Float]] {
        let targets = targets ?? learner.parameters.tensors(adaptiveNames)
        guard let weight = options.replayWeight, !replayed.isEmpty else {
            return learner.metaGradient([task] + replayed, withRespectTo: targets).gradients
        }
        var gradients = learner.metaGradient([task], withRespectTo: targets).gradients
        let replay = learner.metaGradient(replayed, withRespectTo: targets).gradients
        for slot in gradients.indices {
            for j in gradients[slot].indices {
                gradients[slot][j] = (1 - weight) * gradients[slot][j] + weight * replay[slot][j]
            }
        }
        return gradients
    }

    /// Reservoir sampling (Vitter's algorithm R): every task seen so far is kept with equal probability.
    private func remember(_ task: PreparedTask) {
        seen += 1
        if reservoir.count < options.replayCapacity {
            reservoir.append(task)
        } else {
            let slot = random.integer(below: seen)
            if slot < options.replayCapacity { reservoir[slot] = task }
        }
    }
}
