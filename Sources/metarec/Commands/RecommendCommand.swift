import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecModels

/// `metarec recommend`: adapt a model bundle to a new user's few ratings and rank items; the
/// bundle holds everything needed, so no training data is read.
struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend",
        abstract: "Adapt a model to a new user's ratings and print the top items, excluding those rated.",
        discussion: """
            Ratings are ITEM=VALUE pairs with the data set's own item ids, given with --rate or in
            a file of 'item,value' lines. New items (not in the catalogue) can be ranked too, from
            their features: --new-item '{"id": "n1", "title": "A film", "features": {"genre": ["Drama"]}}'.

            Example:
              metarec recommend --model maml.safetensors --rate 50=5 --rate 172=5 --rate 133=1 --top 10
            """)

    @Option(help: "A model bundle written by 'metarec train'.")
    var model: String

    @Option(name: .customLong("rate"), help: "A rating as ITEM=VALUE (repeat).")
    var ratings: [String] = []

    @Option(help: "A file of 'item,value' lines (CSV or TSV; '#' starts a comment).")
    var ratingsFile: String?

    @Option(help: "Only rank these items (comma-separated ids); default: every item.")
    var candidates: String?

    @Option(help: "How many items to print.")
    var top: Int = 10

    @Option(
        name: .customLong("user-feature"), help: "The user's feature as FIELD=VALUE (repeat; VALUE a|b for several).")
    var userFeatures: [String] = []

    @Option(
        name: .customLong("new-item"),
        help: "A new item as JSON {\"id\", \"title\", \"features\"} to rank with the catalogue (repeat).")
    var newItems: [String] = []

    @Option(
        help: ArgumentHelp(
            "Instead of recommending, list N items to ask the user to rate next.",
            discussion:
                "With a covariance-head model: the expected reduction of predictive variance times the chance the user knows the item; otherwise the most popular items."
        ))
    var ask: Int = 0

    @Option(
        help: ArgumentHelp(
            "Rank by greedy (the mean), thompson (a posterior draw) or ucb (mean + strength x sd).",
            discussion:
                "Thompson and UCB need a covariance-head model, the only one with a predictive standard deviation."
        ))
    var exploration: String = "greedy"

    @Option(help: "The scale of the standard deviation for --exploration thompson or ucb (a number >= 0).")
    var explorationStrength: Double = 1

    @Option(help: "Seeds Thompson sampling's draws (default: a fresh seed per run).")
    var explorationSeed: UInt64?

    var explorationPolicy: ExplorationPolicy {
        get throws {
            do {
                return try ExplorationPolicy(name: exploration, strength: explorationStrength)
            } catch {
                throw ValidationError("--exploration / --exploration-strength: \(error.message)")
            }
        }
    }

    func validate() throws {
        _ = try explorationPolicy
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
                throw ValidationError(
                    "\(source) line \(number + 1): expected ITEM=VALUE (or item,value), found '\(line)'")
            }
            result.append((parts[0], value))
        }
        return result
    }

    /// `FIELD=VALUE` pairs; a VALUE with `|` is a list, a number stays a number.
    static func parseFeatures(_ pairs: [String]) throws -> [String: FeatureValue] {
        var features: [String: FeatureValue] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--user-feature: expected FIELD=VALUE, found '\(pair)'")
            }
            let value = String(pair[pair.index(after: equals)...])
            let parts = value.split(separator: "|").map(String.init)
            features[String(pair[..<equals])] =
                parts.count > 1 ? .texts(parts) : Double(value).map(FeatureValue.number) ?? .text(value)
        }
        return features
    }

    struct NewItem: Decodable {
        var id: String
        var title: String?
        var features: [String: FeatureValue]?
    }

    func run() throws {
        for line in try recommendations() { print(line) }
    }

    /// The printed report: a header line, a column line, then one line per recommended item.
    func recommendations() throws -> [String] {
        let recommender = try Recommender(bundle: ModelBundle(contentsOf: URL(fileURLWithPath: model)))
        var pairs = try Self.parseRatings(ratings, source: "--rate")
        if let ratingsFile {
            guard let text = try? String(contentsOfFile: ratingsFile, encoding: .utf8) else {
                throw ValidationError("\(ratingsFile): cannot be read as UTF-8 text")
            }
            pairs += try Self.parseRatings(text.components(separatedBy: .newlines), source: ratingsFile)
        }
        for (index, json) in newItems.enumerated() {
            let item: NewItem
            do {
                item = try JSONDecoder().decode(NewItem.self, from: Data(json.utf8))
            } catch {
                throw ValidationError(
                    "--new-item \(index + 1): expected JSON {\"id\", \"title\", \"features\"}: \(error)")
            }
            do {
                _ = try recommender.addItem(id: item.id, title: item.title ?? item.id, features: item.features ?? [:])
            } catch let error as RecommenderError {
                throw ValidationError("--new-item \(index + 1): \(error)")
            }
        }
        let features = try Self.parseFeatures(userFeatures)
        pairs = try RecommendInput.once(pairs)
        let pool = try candidates.map(RecommendInput.candidates)
        if ask > 0 { return try questionLines(recommender, features: features, pairs: pairs, candidates: pool) }
        let start = Date()
        let top: [Recommender.Scored]
        do {
            let state = try recommender.adapt(userFeatures: features, feedback: pairs.map { ($0.0, $0.1) })
            top = try recommender.recommend(
                userFeatures: features, state: pairs.isEmpty ? nil : state, count: self.top,
                excluding: Set(pairs.map { $0.0 }), candidates: pool, exploration: try explorationPolicy,
                explorationSeed: explorationSeed)
        } catch let error as RecommenderError {
            throw ValidationError(error.description)
        }
        let milliseconds = Date().timeIntervalSince(start) * 1000
        if top.isEmpty {
            let why =
                pool.map {
                    "every one of the \($0.count) --candidates is rated, hidden, or one of the items rated here"
                } ?? "every item in the catalogue is rated here"
            throw ValidationError("nothing left to rank: \(why)")
        }
        let ranked = pool.map { min($0.count, recommender.itemCount) } ?? recommender.itemCount
        let bundle = recommender.bundle
        let uncertain = recommender.hasUncertainty
        var lines = [
            "\(bundle.archive.header.kind.rawValue) model \(bundle.version.prefix(12)), trained on \(bundle.archive.header.data.name); adapted to \(pairs.count) ratings and ranked \(ranked) items in \(String(format: "%.1f", milliseconds)) ms",
            "rank\titem\tscore\(uncertain ? "\t±sd" : "")\ttitle",
        ]
        for (rank, item) in top.enumerated() {
            let spread = item.standardDeviation.map { String(format: "\t%.3f", $0) } ?? ""
            lines.append("\(rank + 1)\t\(item.id)\t\(String(format: "%.3f", item.score))\(spread)\t\(item.title)")
        }
        return lines
    }
}
