import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

/// `metarec recommend`: adapt a saved model to a new user's few ratings and rank items.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Adapt a checkpoint to a new user's ratings and print the top items, excluding those rated.",
        discussion: """
            Ratings are ITEM=VALUE pairs with the data set's own item ids, given with --rate or in
            a file of 'item,value' lines. Pass the same --data and --seed as at training.

            Example:
              metarec recommend --data ../shared/data/ml-100k --model maml.safetensors \\
                  --rate 50=5 --rate 172=5 --rate 133=1 --top 10
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments

    @Option(help: "A checkpoint written by 'metarec train'.")
    var model: String

    @Option(name: .customLong("rate"), help: "A rating as ITEM=VALUE (repeat).")
    var ratings: [String] = []

    @Option(help: "A file of 'item,value' lines (CSV or TSV; '#' starts a comment).")
    var ratingsFile: String?

    @Option(help: "Only rank these items (comma-separated ids); default: every item.")
    var candidates: String?

    @Option(help: "How many items to print.")
    var top: Int = 10

    @Option(help: "Use this known user's features (their id in the data set); default: a new user with unknown features.")
    var user: String?

    @Option(help: "Instead of recommending, list N items to ask the user to rate next (covariance-head checkpoints).")
    var ask: Int = 0

    func validate() throws {
        guard top > 0 else { throw ValidationError("--top must be positive") }
        guard ask >= 0 else { throw ValidationError("--ask must not be negative") }
    }

    /// Parses `ITEM=VALUE` (or `ITEM,VALUE` / tab-separated) pairs; `source` names where they came from.
    static func parseRatings(_ lines: [String], source: String) throws -> [(String, Float)] {
        var result: [(String, Float)] = []
        for (number, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(whereSeparator: { $0 == "=" || $0 == "," || $0 == "\t" }).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard parts.count == 2, !parts[0].isEmpty, let value = Float(parts[1]), value.isFinite else {
                throw ValidationError("\(source) line \(number + 1): expected ITEM=VALUE (or item,value), found '\(line)'")
            }
            result.append((parts[0], value))
        }
        return result
    }

    func run() throws {
        for line in try recommendations() { print(line) }
    }

    /// The printed report: a header line, a column line, then one line per recommended item.
    func recommendations() throws -> [String] {
        let dataset = try data.load()
        let experiment = try Experiment(dataset: dataset, seed: split.seed, threads: 2, splitOptions: split.options)
        let (predictor, archive) = try loadPredictor(model, for: experiment)

        var pairs = try Self.parseRatings(ratings, source: "--rate")
        if let ratingsFile {
            guard let text = try? String(contentsOfFile: ratingsFile, encoding: .utf8) else {
                throw ValidationError("\(ratingsFile): cannot be read as UTF-8 text")
            }
            pairs += try Self.parseRatings(text.components(separatedBy: .newlines), source: ratingsFile)
        }
        let lookup = dataset.itemLookup()
        var support: [Interaction] = []
        for (id, value) in pairs {
            guard let item = lookup[id] else { throw ValidationError("item '\(id)' is not in \(dataset.name)") }
            support.append(Interaction(user: 0, item: item, value: dataset.feedback.map(value), timestamp: Int64(support.count)))
        }
        let rated = Set(support.map(\.item))
        var pool: [Int32]
        if let candidates {
            pool = try candidates.split(separator: ",").map { raw in
                let id = raw.trimmingCharacters(in: .whitespaces)
                guard let item = lookup[id] else { throw ValidationError("candidate item '\(id)' is not in \(dataset.name)") }
                return item
            }
        } else {
            pool = Array(0..<Int32(dataset.itemCount))
        }
        pool.removeAll { rated.contains($0) }
        let userBatch: EntityBatch
        if let user {
            guard let index = dataset.userLookup()[user] else { throw ValidationError("user '\(user)' is not in \(dataset.name)") }
            userBatch = EntityBatch(experiment.features.users, entities: [index])
        } else {
            userBatch = EntityBatch.unknown(FeatureSpace(experiment.split.userFeatures))
        }
        if ask > 0 {
            return try Self.questionLines(count: ask, predictor: predictor, experiment: experiment,
                                          user: NewUserAnswers(features: userBatch, answers: support), pool: pool)
        }
        let query = pool.map { Interaction(user: 0, item: $0, value: 0, timestamp: 0) }
        let task = PreparedTask(userBatch: userBatch, support: support, query: query, features: experiment.features)
        // A meta-learner whose item embeddings do not adapt ranks through the fast path: cached
        // item representations (built once, before the clock starts), one product per layer.
        var ranker: (MetaLearner, CandidateRanker)?
        if let learner = predictor as? MetaLearner,
           !learner.parameters.names.contains(where: { $0.hasPrefix("item.") && learner.options.adaptation.partition.adapts($0) }) {
            ranker = (learner, CandidateRanker(model: learner.model, parameters: learner.parameters, items: experiment.features.items, candidates: pool))
        }
        let start = Date()
        var uncertainty: [Float]?
        let scores: [Float]
        if let (learner, ranker) = ranker {
            let fast = learner.model.adaptForInference(learner.parameters, to: task, rule: learner.options.adaptation, rates: learner.innerRates)
            let user = GradientMode.withoutRecording { learner.model.userRepresentation(task.userBatch, parameters: fast) }
            scores = learner.model.score(ranker.scores(userRepresentation: user, parameters: fast))
        } else if let head = predictor as? CovarianceHead {
            let result = head.predictWithUncertainty(task)
            scores = result.means
            uncertainty = result.variances.map { $0.squareRoot() }
        } else {
            scores = predictor.predict(task)
        }
        let milliseconds = Date().timeIntervalSince(start) * 1000
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var lines = [
            "\(predictor.name), trained on \(archive.header.data.name); adapted to \(support.count) ratings and scored \(pool.count) items in \(String(format: "%.1f", milliseconds)) ms",
            "rank\titem\tscore\(uncertainty == nil ? "" : "\t±sd")\ttitle",
        ]
        for (rank, index) in order.prefix(top).enumerated() {
            let item = Int(pool[index])
            let title = dataset.itemTitles?[item] ?? ""
            let spread = uncertainty.map { String(format: "\t%.3f", $0[index]) } ?? ""
            lines.append("\(rank + 1)\t\(dataset.itemIDs[item])\t\(String(format: "%.3f", scores[index]))\(spread)\t\(title)")
        }
        return lines
    }
}
