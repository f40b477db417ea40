import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData

extension NegativeSampling.Strategy: ExpressibleByArgument {}

/// Where the data comes from: shared by every command that reads a data set (data, train,
/// evaluate). Without `--data`, the built-in synthetic set.
struct DataOptions: ParsableArguments {
    @Option(help: "synthetic (default), a MovieLens directory, or a generic-log schema file (.yaml/.json).")
    var data: String = "synthetic"

    @Option(
        help:
            "movielens-100k, movielens-1m, movielens-10m, movielens-latest or generic (detected from the directory when omitted)."
    )
    var format: String?

    @Option(help: "Schema file (YAML or JSON) for --format generic.")
    var schema: String?

    @Option(help: "Treat ratings >= this value as positive clicks (implicit feedback).")
    var implicitThreshold: Float?

    @Flag(help: "Skip malformed lines and report how many, instead of stopping at the first.")
    var skipBadLines = false

    @Option(help: "Synthetic data: generator seed.")
    var syntheticSeed: UInt64 = 0

    @Option(help: "Synthetic data: number of users.")
    var syntheticUsers: Int = 1000

    @Option(help: "Synthetic data: number of items.")
    var syntheticItems: Int = 800

    @Option(help: "Synthetic data: number of interactions.")
    var syntheticInteractions: Int = 60_000

    @Option(
        help:
            "Positive-only logs (plays, clicks): sampled negatives per positive, never an item the user touched (default 4; 0 keeps the log as it is)."
    )
    var negatives: Int?

    @Option(
        help:
            "Positive-only logs: how negatives are drawn: uniform or popularity (in proportion to an item's interactions)."
    )
    var negativeSampling: NegativeSampling.Strategy = .uniform

    @Option(help: "Positive-only logs: seed of the negative sampler.")
    var negativeSeed: UInt64 = 0

    @Flag(
        inversion: .prefixedNo,
        help: "Use text features (MovieLens titles, schema 'text' columns); --no-text-features drops them.")
    var textFeatures = true

    @Option(
        help:
            "Join item vectors by item id as a dense item feature: a text file of 'id number number ...' lines, or a .npy matrix with --item-vector-ids (e.g. from Scripts/embed_titles.py)."
    )
    var itemVectors: String?

    @Option(help: "For a .npy --item-vectors: the item ids of its rows, one per line.")
    var itemVectorIds: String?

    var feedback: FeedbackKind { implicitThreshold.map { .implicit(threshold: $0) } ?? .explicit }

    func validate() throws {
        if let format, !DataSource.formatNames.contains(format) {
            throw ValidationError(
                "unknown --format '\(format)'; expected \(DataSource.formatNames.joined(separator: ", "))")
        }
        if format == "generic", schema == nil,
            !["yaml", "yml", "json"].contains(URL(fileURLWithPath: data).pathExtension.lowercased())
        {
            throw ValidationError("--format generic needs --schema FILE (or --data pointing at the schema file)")
        }
        if syntheticUsers < 1 || syntheticItems < 2 || syntheticInteractions < 1 {
            throw ValidationError("synthetic sizes must be positive (users >= 1, items >= 2, interactions >= 1)")
        }
        if let negatives, !(0...100).contains(negatives) {
            throw ValidationError("--negatives must be between 0 and 100 negatives per positive, got \(negatives)")
        }
        if let implicitThreshold, !implicitThreshold.isFinite {
            throw ValidationError("--implicit-threshold must be a finite number, got \(implicitThreshold)")
        }
    }

    /// Loads the data set and, for a positive-only log, samples its negatives (logged).
    func loadForTraining() throws -> Dataset {
        let dataset = try load()
        for warning in dataset.loadWarnings { log("warning: \(warning)") }
        guard dataset.isPositiveOnly else {
            if negatives.map({ $0 > 0 }) ?? false {
                log("note: --negatives ignored: \(dataset.name) has negative examples of its own")
            }
            return dataset
        }
        let ratio = negatives ?? 4
        guard ratio > 0 else {
            log(
                "warning: \(dataset.name) holds positives only and --negatives 0 samples none: every metric will be undefined"
            )
            return dataset
        }
        let sampling = NegativeSampling(strategy: negativeSampling, ratio: ratio, seed: negativeSeed)
        log("\(dataset.name) holds positives only (a play or click log): sampling \(sampling)")
        return dataset.withSampledNegatives(sampling)
    }

    /// Where the options say the data is.
    func source() throws -> DataSource {
        try DataSource.detect(
            data, format: format, schema: schema,
            synthetic: .init(
                seed: syntheticSeed, users: syntheticUsers, items: syntheticItems, interactions: syntheticInteractions))
    }

    /// Loads the data set the options name (without text features under --no-text-features).
    func load() throws -> Dataset {
        var dataset = try source().load(
            feedback: implicitThreshold.map { .implicit(threshold: $0) },
            options: ImportOptions(skipBadLines: skipBadLines))
        if !textFeatures { dataset = dataset.withoutTextFeatures() }
        if let itemVectors {
            let url = URL(fileURLWithPath: itemVectors)
            let (ids, rows): ([String], [[Float]])
            if url.pathExtension.lowercased() == "npy" {
                guard let itemVectorIds else {
                    throw ValidationError(
                        "--item-vectors \(itemVectors) is a .npy matrix: give its ids with --item-vector-ids FILE")
                }
                (ids, rows) = try ItemVectors.readNumpy(url, ids: URL(fileURLWithPath: itemVectorIds))
            } else {
                (ids, rows) = try ItemVectors.readText(url)
            }
            dataset = dataset.addingItemVectors(name: "vectors", ids: ids, rows: rows)
        }
        return dataset
    }
}

/// The protocol's split options (Docs/protocol.md, Splits), shared by the commands that split.
struct SplitArguments: ParsableArguments {
    @Option(help: "Split seed (the protocol reports seeds 0, 1 and 2).")
    var seed: UInt64 = 0

    @Option(help: "Minimum ratings for a task.")
    var minTaskSize: Int = 13

    @Option(help: "Maximum ratings per task (the earliest are kept).")
    var maxTaskSize: Int = 100

    @Option(help: "Query ratings per task.")
    var querySize: Int = 10

    @Flag(
        help:
            "Cut users in the order of their first interaction instead of shuffled: meta-training sees the earliest users only, the new users are the latest (for a stream with drift)."
    )
    var splitByArrival = false

    func validate() throws {
        try OptionChecks.integer(querySize, "--query-size", in: 1...10_000)
        try OptionChecks.integer(minTaskSize, "--min-task-size", in: (querySize + 1)...100_000)
        try OptionChecks.integer(maxTaskSize, "--max-task-size", in: minTaskSize...1_000_000)
    }

    var options: SplitOptions {
        SplitOptions(
            seed: seed, minimumTaskSize: minTaskSize, maximumTaskSize: maxTaskSize, querySize: querySize,
            userOrder: splitByArrival ? .arrival : .shuffled)
    }
}

/// `metarec data`: inspect and split data sets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Inspect and split data sets.",
        subcommands: [DataStatsCommand.self, DataSplitCommand.self, DataSyntheticCommand.self],
        defaultSubcommand: DataStatsCommand.self)
}

struct DataStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Print a data set's counts and its protocol split per scenario.")

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments

    func run() throws {
        let dataset = try data.loadForTraining()
        let protocolSplit = try ProtocolSplit(dataset: dataset, options: split.options)
        print(describe(dataset, protocolSplit))
    }
}

struct DataSplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Export the protocol's tasks (support and query rows) so another tool can evaluate on them.")

    @OptionGroup var data: DataOptions
    @OptionGroup var split: SplitArguments

    @Option(help: "Output directory.")
    var out: String

    func run() throws {
        let dataset = try data.loadForTraining()
        let protocolSplit = try ProtocolSplit(dataset: dataset, options: split.options)
        let url = URL(fileURLWithPath: out)
        try protocolSplit.export(to: url, dataset: dataset)
        print(describe(dataset, protocolSplit))
        print(
            "wrote \(url.path): \(Scenario.allCases.map { ProtocolSplit.taskFileName($0) }.joined(separator: ", ")), users.csv, items.csv, \(ProtocolSplit.manifestName)"
        )
    }
}

struct DataSyntheticCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthetic",
        abstract:
            "Write the synthetic data set (optionally with drift) in MovieLens 1M's layout, plus arrival.csv: every rating in time order."
    )

    @Option(help: "Generator seed.")
    var seed: UInt64 = 0

    @Option(help: "Number of users.")
    var users: Int = 1000

    @Option(help: "Number of items.")
    var items: Int = 800

    @Option(help: "Number of interactions.")
    var interactions: Int = 60_000

    @Flag(help: "Drift: users arrive over the period, the archetype mix and tastes shift, new items keep arriving.")
    var drift = false

    @Option(help: "Drift: how far each archetype's genre preferences move over the period (in their own spread).")
    var tasteShift: Float = SyntheticDrift().tasteShift

    @Option(help: "Drift: log-odds by which the archetype mix tilts from the period's start to its end.")
    var mixShift: Float = SyntheticDrift().mixShift

    @Option(
        help:
            "Drift: spread of the shared genre trend that wanders over the period (in the archetype preferences' spread); 0 turns it off."
    )
    var driftTrendScale: Float = SyntheticDrift().trendScale

    @Option(help: "Output directory.")
    var out: String

    func validate() throws {
        try OptionChecks.integer(users, "--users", in: 1...10_000_000)
        try OptionChecks.integer(items, "--items", in: 2...10_000_000)
        try OptionChecks.integer(interactions, "--interactions", in: 1...1_000_000_000)
        guard tasteShift.isFinite, tasteShift >= 0, mixShift.isFinite, mixShift >= 0, driftTrendScale.isFinite,
            driftTrendScale >= 0
        else {
            throw ValidationError("--taste-shift, --mix-shift and --drift-trend-scale must be finite and non-negative")
        }
    }

    func run() throws {
        var driftOptions = SyntheticDrift()
        driftOptions.tasteShift = tasteShift
        driftOptions.mixShift = mixShift
        driftOptions.trendScale = driftTrendScale
        let generated = BuiltInData.synthetic(
            seed: seed, users: users, items: items, targetInteractions: interactions, drift: drift ? driftOptions : nil)
        let url = URL(fileURLWithPath: out)
        try generated.writeMovieLens1M(to: url)
        try generated.writeArrivalOrder(to: url.appendingPathComponent("arrival.csv"))
        print(
            "wrote \(url.path): ratings.dat, users.dat, movies.dat (MovieLens 1M layout), arrival.csv; \(generated.dataset.name)"
                + (drift ? ", drift \(driftOptions)" : ""))
    }
}

/// The stats report: data set, checksums, counts, and one row per scenario.
func describe(_ dataset: Dataset, _ split: ProtocolSplit) -> String {
    func n(_ v: Int) -> String {
        let digits = String(v)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }
    func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return left ? s + fill : fill + s
    }
    var lines: [String] = []
    lines.append("data set   \(dataset.name) (\(dataset.feedback))")
    for (file, sum) in dataset.fileChecksums.sorted(by: { $0.key < $1.key }) {
        lines.append("  sha256   \(sum)  \(file)")
    }
    lines.append(
        "size       \(n(dataset.userCount)) users, \(n(dataset.itemCount)) items, \(n(dataset.interactions.count)) ratings"
            + " (\(n(dataset.duplicatesRemoved)) duplicate rows removed, latest kept; \(n(dataset.skippedLines)) bad lines skipped)"
    )
    for message in dataset.skipReport.prefix(5) { lines.append("  skipped  \(message)") }
    for warning in dataset.loadWarnings { lines.append("  warning  \(warning)") }
    let o = split.options
    lines.append(
        "split      coldstart-v1, seed \(o.seed): users \(Int(o.userFractions.existing * 100))/\(Int(o.userFractions.validation * 100))/\(Int(o.userFractions.new * 100)) existing/validation/new"
            + " (\(n(split.existingUsers.count))/\(n(split.validationUsers.count))/\(n(split.newUsers.count))); tasks \(o.minimumTaskSize)-\(o.maximumTaskSize) ratings, query \(o.querySize)"
    )
    lines.append(
        "new items  \(n(split.isNewItem.filter { $0 }.count)) of \(n(dataset.itemCount)) (\(split.newItemRule))")
    if let sampling = dataset.negativeSampling { lines.append("negatives  \(sampling)") }
    lines.append("")
    let header = ["scenario", "users", "active", "items", "tasks", "task ratings", "all ratings"]
    let widths = [12, 7, 7, 7, 7, 13, 12]
    lines.append(zip(header, widths).enumerated().map { i, p in pad(p.0, p.1, left: i == 0) }.joined(separator: " "))
    for s in split.statistics {
        let row = [
            s.scenario.rawValue, n(s.users), n(s.activeUsers), n(s.items), n(s.tasks), n(s.taskRatings),
            n(s.allRatings),
        ]
        lines.append(zip(row, widths).enumerated().map { i, p in pad(p.0, p.1, left: i == 0) }.joined(separator: " "))
    }
    lines.append("")
    lines.append(
        "users: the scenario's user group; active: with at least one rating on its items; tasks: users with >= \(o.minimumTaskSize);"
    )
    lines.append(
        "task ratings: support + query after keeping the \(o.maximumTaskSize) earliest; all ratings: every rating of the group on the items (warm: what training may use)."
    )
    return lines.joined(separator: "\n")
}
