import Foundation
import MetaRecCore
import MetaRecData

/// A closed-form path for new users: the rating is linear in a learned item representation,
/// r = φ(item)ᵀ w_user + ε with ε ~ N(0, σ²), and the per-user weights share a Gaussian prior
/// w ~ N(μ(user features), Σ) whose mean and covariance are tracked across existing users as
/// training proceeds. A new user's posterior given their support ratings is exact Bayesian
/// linear regression: it costs no gradient step and comes with its uncertainty.
///
/// Training alternates (a) mini-batch gradient steps on the item tower φ, the prior-mean map μ
/// and per-user offsets δ = w − μ, with the MAP penalty σ²·δᵀΣ⁻¹δ spread over each user's
/// rows, and (b) after every epoch an exact EM update of Σ and σ² from each warm user's
/// posterior (the empirical-Bayes hierarchical linear model; Gelman et al., "Bayesian Data
/// Analysis", ch. 15). The epoch is chosen by validation MAE of the exact posteriors.
///
/// ```swift
/// let head = CovarianceHead(configuration: .init(), users: userSpace, items: itemSpace, userCount: n)
/// head.fit(training: warm, validation: validationTasks, features: features)
/// let (means, variances) = head.predictWithUncertainty(task)
/// ```
public final class CovarianceHead: ColdStartPredictor, @unchecked Sendable {
    public struct Configuration: Sendable, Codable, Equatable {
        public var embeddingSize = 16
        /// Width of φ(item) before the constant 1 that carries the user's bias.
        public var representationSize = 16
        public var batchSize = 256
        public var learningRate: Float = 3e-3
        public var maxEpochs = 20
        public var patience = 3
        public var seed: UInt64 = 0
        public var threads = 2
        public var objective: Objective = .rating
        /// Starting prior mean of the bias weight (the global mean rating).
        public var initialBias: Float = 0
        /// Adds a learned item-id embedding (zero for items training never saw) to the tower's input.
        public var itemIDEmbedding = true
        public init() {}
    }

    public let name = "covariance head (exact posterior)"
    public let configuration: Configuration
    public let users: FeatureSpace
    public let items: FeatureSpace
    public private(set) var parameters: ParameterSet
    /// Σ, row-major k × k, with k = representationSize + 1.
    public private(set) var priorCovariance: [Double]
    /// σ², the rating noise.
    public private(set) var noiseVariance: Double

    public var dimension: Int { configuration.representationSize + 1 }
    /// How much a task's known history (an existing user meeting new items) counts in the
    /// posterior beside the support: 1 is exact sequential updating (the user starts from what
    /// their warm ratings say), 0 starts them from the prior, and a value between tempers the
    /// history's likelihood, for tastes that shift between old items and new ones. Chosen on
    /// item-cold validation (``Experiment``).
    public var knownHistoryWeight: Double = 1
    /// The validation scores behind `knownHistoryWeight`, when it was chosen.
    public var knownHistorySelection: KnownHistorySelection?

    public init(
        configuration: Configuration, users: FeatureSpace, items: FeatureSpace,
        parameters: ParameterSet? = nil, priorCovariance: [Double]? = nil, noiseVariance: Double = 1
    ) {
        self.configuration = configuration
        self.users = users
        self.items = items
        let k = configuration.representationSize + 1
        if let parameters {
            self.parameters = parameters
        } else {
            var random = SeededGenerator(seed: configuration.seed).derived("covariance-head")
            self.parameters = Self.initialParameters(configuration, users: users, items: items, using: &random)
        }
        self.priorCovariance = priorCovariance ?? (0..<(k * k)).map { $0 % (k + 1) == 0 ? 0.1 : 0 }
        self.noiseVariance = noiseVariance
    }

    static func initialParameters(
        _ configuration: Configuration, users: FeatureSpace, items: FeatureSpace, using random: inout SeededGenerator
    ) -> ParameterSet {
        var parameters = ParameterSet()
        let e = configuration.embeddingSize
        let d = configuration.representationSize
        let k = d + 1
        for (side, space) in [(ParameterName.Side.user, users), (.item, items)] {
            for field in space.fields {
                parameters[ParameterName.field(side, field.name, embedded: field.isEmbedded)] = Tensor.normal(
                    [max(field.size, 1), e], standardDeviation: 0.1, using: &random, requiresGradient: true)
            }
        }
        if configuration.itemIDEmbedding {
            parameters[ParameterName.itemIDEmbedding] = Tensor.zeros([max(items.entityCount, 1), e]).asParameter()
        }
        let itemWidth = (max(items.fields.count, 1) + (configuration.itemIDEmbedding ? 1 : 0)) * e
        let userWidth = max(users.fields.count, 1) * e
        let towerBound = (6 / Float(itemWidth + d)).squareRoot()
        parameters[ParameterName.towerWeight] = Tensor.uniform(
            [itemWidth, d], low: -towerBound, high: towerBound, using: &random, requiresGradient: true)
        parameters[ParameterName.towerBias] = Tensor.zeros([d]).asParameter()
        parameters[ParameterName.priorWeight] = Tensor.normal(
            [userWidth, k], standardDeviation: 0.01, using: &random, requiresGradient: true)
        var bias = [Float](repeating: 0, count: k)
        bias[d] = configuration.initialBias
        parameters[ParameterName.priorBias] = Tensor(shape: [k], values: bias, requiresGradient: true)
        parameters[ParameterName.userOffset] = Tensor.zeros([max(users.entityCount, 1), k]).asParameter()
        return parameters
    }

    // MARK: - The model

    private func fieldEmbeddings(
        _ side: ParameterName.Side, _ space: FeatureSpace, _ batch: EntityBatch, _ p: ParameterSet
    ) -> Tensor {
        concatenateColumns(space.embeddings(of: batch, side: side, parameters: p, width: configuration.embeddingSize))
    }

    /// φ(item) with a trailing constant 1: `[rows, k]`.
    func itemRepresentation(_ batch: EntityBatch, _ p: ParameterSet) -> Tensor {
        var input = fieldEmbeddings(.item, items, batch, p)
        if configuration.itemIDEmbedding {
            input = concatenateColumns([input, embeddingBag(p.tensor(ParameterName.itemIDEmbedding), batch.ids)])
        }
        let hidden = tanh(
            linear(input, weight: p.tensor(ParameterName.towerWeight), bias: p.tensor(ParameterName.towerBias)))
        return concatenateColumns([hidden, Tensor.filled([batch.rows, 1], with: 1)])
    }

    /// μ(user features): `[rows, k]`.
    func priorMean(_ batch: EntityBatch, _ p: ParameterSet) -> Tensor {
        linear(
            fieldEmbeddings(.user, users, batch, p), weight: p.tensor(ParameterName.priorWeight),
            bias: p.tensor(ParameterName.priorBias))
    }

    // MARK: - Training

    /// Trains the item tower, the prior-mean map and the offsets, with the EM update of the
    /// prior after every epoch; the epoch is chosen by validation users' exact posteriors.
    /// - Throws: `TrainingError` when the loss or the validation score stops being finite.
    @discardableResult
    public func fit(
        training: [Interaction], validation: [PreparedTask], features: FeatureContext,
        monitor: TrainingMonitor = .silent, phase: String = "covariance head"
    ) throws -> TrainingOutcome {
        guard !training.isEmpty else {
            return .untrained
        }
        var random = SeededGenerator(seed: configuration.seed).derived("covariance-training")
        let trainable = parameters.tensors
        let optimizer = Adam(groups: [ParameterGroup(trainable, learningRate: configuration.learningRate)])
        var counts: [Int32: Int] = [:]
        for rating in training { counts[rating.user, default: 0] += 1 }
        var byUser: [Int32: [Interaction]] = [:]
        for rating in training { byUser[rating.user, default: []].append(rating) }
        var order = Array(training.indices)
        let batchSize = configuration.batchSize
        var precision = Tensor.zeros([dimension, dimension])
        let loop = TrainingLoop(
            phase: phase, maxEpochs: configuration.maxEpochs, patience: configuration.patience, monitor: monitor,
            divergenceHint: "Lower the covariance head's learning rate.")
        return try loop.run(
            stepsPerEpoch: (training.count + batchSize - 1) / batchSize,
            beginEpoch: { _ in
                random.shuffle(&order)
                precision = Tensor(
                    shape: [dimension, dimension],
                    values: (try? Cholesky(priorCovariance, size: dimension))
                        .map { $0.inverse().map(Float.init) } ?? identity(dimension).map(Float.init))
            },
            step: { _, step in
                let rows = order[((step - 1) * batchSize)..<min(order.count, step * batchSize)].map { training[$0] }
                let userBatch = EntityBatch(features.users, entities: rows.map(\.user))
                let itemBatch = EntityBatch(features.items, entities: rows.map(\.item))
                let phi = itemRepresentation(itemBatch, parameters)
                let offsets = embeddingBag(
                    parameters.tensor(ParameterName.userOffset), IndexLists(rows.map { [$0.user] }))
                let weights = priorMean(userBatch, parameters) + offsets
                let predictions = (phi * weights).sumRows().reshaped([rows.count, 1])
                let fit = meanSquaredError(predictions, Tensor(shape: [rows.count, 1], values: rows.map(\.value)))
                let rowWeights = Tensor(rows.map { Float(noiseVariance) / Float(counts[$0.user] ?? 1) })
                let penalty =
                    ((matmul(offsets, precision) * offsets).sumRows() * rowWeights).sum() * (1 / Float(rows.count))
                optimizer.step(Gradients(trainable, gradients(of: fit + penalty, withRespectTo: trainable)))
                return fit.scalar
            },
            endEpoch: { _ in updatePrior(byUser, features: features) },
            validate: {
                validation.isEmpty
                    ? nil
                    : selectable(
                        selectionScore(
                            validation, objective: configuration.objective, threads: configuration.threads, predict))
            },
            snapshot: { (parameters.copied(), priorCovariance, noiseVariance) },
            restore: { best in
                parameters.assign(from: best.0)
                priorCovariance = best.1
                noiseVariance = best.2
            })
    }

    /// The EM step for the prior: each warm user's exact posterior under the current prior gives
    /// new offsets, Σ = mean(δδᵀ + S) and σ² = mean residual² plus posterior variance.
    func updatePrior(_ byUser: [Int32: [Interaction]], features: FeatureContext) {
        let k = dimension
        let users = byUser.keys.sorted()
        struct Statistics {
            var scatter: [Double]
            var residual: Double
            var ratings: Int
            var offsets: [(Int32, [Double])]
        }
        let workers = max(1, configuration.threads)
        let partials = Parallel.map(Array(0..<workers), workers: workers) { worker -> Statistics in
            var statistics = Statistics(
                scatter: .init(repeating: 0, count: k * k), residual: 0, ratings: 0, offsets: [])
            for index in stride(from: worker, to: users.count, by: workers) {
                let user = users[index]
                let ratings = byUser[user]!
                guard
                    let posterior = GradientMode.withoutRecording({
                        self.posterior(
                            user: user, support: ratings.map(\.item), targets: ratings.map(\.value), features: features)
                    })
                else { continue }
                let delta = zip(posterior.mean, posterior.priorMean).map { $0 - $1 }
                for i in 0..<k {
                    for j in 0..<k {
                        statistics.scatter[i * k + j] += delta[i] * delta[j] + posterior.covariance[i * k + j]
                    }
                }
                for (row, target) in zip(posterior.supportFeatures, ratings.map(\.value)) {
                    let mean = zip(row, posterior.mean).reduce(0.0) { $0 + $1.0 * $1.1 }
                    var variance = 0.0
                    for i in 0..<k { for j in 0..<k { variance += row[i] * posterior.covariance[i * k + j] * row[j] } }
                    statistics.residual += (Double(target) - mean) * (Double(target) - mean) + variance
                }
                statistics.ratings += ratings.count
                statistics.offsets.append((user, delta))
            }
            return statistics
        }
        var scatter = [Double](repeating: 0, count: k * k)
        var residual = 0.0
        var ratings = 0
        var userTotal = 0
        let table = parameters.tensor(ParameterName.userOffset)
        for part in partials {
            for i in scatter.indices { scatter[i] += part.scatter[i] }
            residual += part.residual
            ratings += part.ratings
            userTotal += part.offsets.count
            for (user, delta) in part.offsets where Int(user) < table.shape[0] {
                for j in 0..<k { table.values[Int(user) * k + j] = Float(delta[j]) }
            }
        }
        guard userTotal > 0, ratings > 0 else { return }
        priorCovariance = scatter.enumerated().map {
            $0.element / Double(userTotal) + ($0.offset % (k + 1) == 0 ? 1e-6 : 0)
        }
        noiseVariance = max(residual / Double(ratings), 1e-4)
    }

    // MARK: - The exact posterior

    /// A user's posterior over weights given rated items: N(mean, covariance), with the prior
    /// mean and the support's item representations it used.
    public struct Posterior {
        public var mean: [Double]
        public var covariance: [Double]
        public var priorMean: [Double]
        public var supportFeatures: [[Double]]
    }

    /// Σ_post = (Σ⁻¹ + ΦᵀΦ/σ²)⁻¹, m = Σ_post (Σ⁻¹μ + Φᵀr/σ²); nil only if Σ is degenerate.
    func posterior(user: Int32, support: [Int32], targets: [Float], features: FeatureContext) -> Posterior? {
        let userBatch = EntityBatch(features.users, entities: [user])
        let prior = priorMean(userBatch, parameters).denseValues.map(Double.init)
        let phi =
            support.isEmpty ? [] : rows(itemRepresentation(EntityBatch(features.items, entities: support), parameters))
        return posterior(prior: prior, phi: phi, targets: targets)
    }

    func posterior(prior: [Double], phi: [[Double]], targets: [Float]) -> Posterior? {
        let k = dimension
        guard let priorFactor = try? Cholesky(priorCovariance, size: k) else { return nil }
        var precision = priorFactor.inverse()
        var rightHandSide = priorFactor.solve(prior)
        let noisePrecision = 1 / noiseVariance
        for (row, target) in zip(phi, targets) {
            for i in 0..<k {
                rightHandSide[i] += row[i] * Double(target) * noisePrecision
                for j in 0..<k { precision[i * k + j] += row[i] * row[j] * noisePrecision }
            }
        }
        guard let factor = try? Cholesky(precision, size: k) else { return nil }
        return Posterior(
            mean: factor.solve(rightHandSide), covariance: factor.inverse(), priorMean: prior, supportFeatures: phi)
    }

    private func rows(_ tensor: Tensor) -> [[Double]] {
        let width = tensor.shape[1]
        let values = tensor.denseValues
        return (0..<tensor.shape[0]).map { r in (0..<width).map { Double(values[r * width + $0]) } }
    }

    /// Posterior predictive means and variances (φᵀΣ_post φ + σ²) for the query rows.
    public func predictWithUncertainty(_ task: PreparedTask) -> (means: [Float], variances: [Float]) {
        GradientMode.withoutRecording {
            let prior = priorMean(task.userBatch, parameters).denseValues.map(Double.init)
            var phi = task.supportCount == 0 ? [] : rows(itemRepresentation(task.supportItems, parameters))
            var targets = task.supportTargets.values
            if knownHistoryWeight > 0, let history = task.history {
                // Scaling a row and its target by √λ scales its likelihood's precision by λ.
                let scale = knownHistoryWeight.squareRoot()
                phi += rows(itemRepresentation(history.items, parameters)).map { $0.map { $0 * scale } }
                targets += history.targets.values.map { $0 * Float(scale) }
            }
            let query = rows(itemRepresentation(task.queryItems, parameters))
            guard let posterior = posterior(prior: prior, phi: phi, targets: targets) else {
                return (
                    query.map { row in Float(zip(row, prior).reduce(0) { $0 + $1.0 * $1.1 }) },
                    query.map { _ in Float(noiseVariance) }
                )
            }
            let k = dimension
            let means = query.map { row in Float(zip(row, posterior.mean).reduce(0) { $0 + $1.0 * $1.1 }) }
            let variances = query.map { row -> Float in
                var v = noiseVariance
                for i in 0..<k { for j in 0..<k { v += row[i] * posterior.covariance[i * k + j] * row[j] } }
                return Float(v)
            }
            return (means, variances)
        }
    }

    public func predict(_ task: PreparedTask) -> [Float] { predictWithUncertainty(task).means }
}

private func identity(_ n: Int) -> [Double] { (0..<(n * n)).map { $0 % (n + 1) == 0 ? 1 : 0 } }
