import Foundation
import MetaRecCore
import MetaRecData
import MetaRecEvaluation
import MetaRecModels

// Issue 19, part 5: costs measured to 25 million ratings.
//
//     metarec-benchmark scale [--sizes 1M,5M,25M] [--catalogues 1k,10k,100k,1M] [--json FILE]
//
// Each size is read and split in a child process of this executable, so that its peak memory is
// its own; each ranking size runs in a child too, once with OpenBLAS and once with
// METAREC_KERNELS=portable (the backend is chosen when the process starts).

/// The options `scale` takes, and the words of the command line that are not theirs.
struct ScaleOptions {
    var sizes = [1_000_000, 5_000_000, 25_000_000]
    var catalogues = [1_000, 10_000, 100_000, 1_000_000]
    var json: String?
    /// Meta-training tasks timed per size at most; an epoch with more is extrapolated from them.
    var timedTasks = 4_096
    var groups: [String] = []

    init(_ arguments: [String]) {
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            let value = index + 1 < arguments.count ? arguments[index + 1] : nil
            switch word {
            case "--sizes":
                sizes = Self.counts(value)
                index += 1
            case "--catalogues":
                catalogues = Self.counts(value)
                index += 1
            case "--json":
                json = value
                index += 1
            case "--timed-tasks":
                timedTasks = value.flatMap(Int.init) ?? timedTasks
                index += 1
            default: groups.append(word)
            }
            index += 1
        }
    }

    /// "1M,5M,100k,2500" → counts.
    static func counts(_ text: String?) -> [Int] {
        (text ?? "").split(separator: ",").compactMap { word in
            let lower = word.lowercased()
            if lower.hasSuffix("m") { return Int(lower.dropLast()).map { $0 * 1_000_000 } }
            if lower.hasSuffix("k") { return Int(lower.dropLast()).map { $0 * 1_000 } }
            return Int(lower)
        }
    }
}

/// Runs a child's part when this process is one (`scale-read DIR TASKS`, `scale-rank ITEMS`);
/// false otherwise.
func runScaleChildIfAsked(_ arguments: [String]) -> Bool {
    guard let first = arguments.first else { return false }
    switch first {
    case "scale-read" where arguments.count == 3:
        readAndSplit(directory: URL(fileURLWithPath: arguments[1]), timedTasks: Int(arguments[2]) ?? 4_096)
        return true
    case "scale-rank" where arguments.count == 2:
        rankCatalogue(items: Int(arguments[1]) ?? 1_000)
        return true
    default: return false
    }
}

private let resultPrefix = "SCALE-RESULT "

func runScaleBenchmarks(_ options: ScaleOptions) {
    print("== scale: synthetic MovieLens-25M-like sets (ratings.csv + movies.csv), each in its own process")
    printKernelHeader()
    print("   load average before: \(loadAverage())")
    var curves = ScaleCurves(loadAverage: "", kernels: kernelDescription())
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-bench-scale-\(getpid())")
    defer { try? FileManager.default.removeItem(at: root) }
    for size in options.sizes {
        let shape = LargeSynthetic.Shape.movieLensLike(interactions: size)
        let directory = root.appendingPathComponent(ScaleCurves.shortCount(size))
        let clock = Date()
        do {
            let summary = try LargeSynthetic.write(shape, to: directory)
            print(
                String(
                    format: "%@: generated %d ratings, %d users, %d items (%d rated), %.0f MB in %.1f s",
                    ScaleCurves.shortCount(size), summary.interactions, summary.users, summary.items,
                    summary.ratedItems, Double(summary.bytes) / 1e6, Date().timeIntervalSince(clock)))
        } catch {
            print("\(ScaleCurves.shortCount(size)): could not generate: \(error)")
            continue
        }
        if let point: ScaleCurves.DataPoint = runChild(["scale-read", directory.path, String(options.timedTasks)]) {
            curves.data.append(point)
            print(
                String(
                    format:
                        "%@: read %.2f s + split %.2f s = %.2f s (target < 60 s at 25M), peak %.2f GiB (target < 4), %.0f MB of files",
                    ScaleCurves.shortCount(size), point.readSeconds, point.splitSeconds,
                    point.readSeconds + point.splitSeconds, Double(point.peakResidentBytes) / 1_073_741_824,
                    Double(point.inputBytes) / 1e6))
            print(
                String(
                    format: "%@: meta-training epoch %.1f s (%d tasks%@; %.0f tasks/s)", ScaleCurves.shortCount(size),
                    point.epochSeconds, point.epochTasks,
                    point.timedTasks < point.epochTasks
                        ? String(format: ", extrapolated from %d timed", point.timedTasks) : "",
                    Double(point.timedTasks) / max(point.timedSeconds, 1e-9)))
        }
        try? FileManager.default.removeItem(at: directory)
    }
    for items in options.catalogues {
        for portable in [false, true] where !portable || Kernels.isOpenBLASAvailable {
            let points: [ScaleCurves.RankingPoint]? = runChild(
                ["scale-rank", String(items)], environment: portable ? ["METAREC_KERNELS": "portable"] : [:])
            for point in points ?? [] {
                curves.ranking.append(point)
                print(
                    String(
                        format: "rank %@ items, %@ (%@): p50 %.3f ms, p99 %.3f ms (%d requests)",
                        ScaleCurves.shortCount(items), point.kind, point.kernels, point.p50Seconds * 1e3,
                        point.p99Seconds * 1e3, point.samples))
            }
        }
    }
    curves.loadAverage = loadAverage()
    print("   load average after: \(curves.loadAverage)")
    if let json = options.json {
        do {
            try curves.write(to: URL(fileURLWithPath: json))
            print("wrote \(json) (metarec report ... --scale \(json) --html report.html draws it)")
        } catch { print("could not write \(json): \(error)") }
    }
}

/// Runs this executable with `arguments`, echoes its output but for the result line, and decodes that.
private func runChild<Result: Decodable>(_ arguments: [String], environment: [String: String] = [:]) -> Result? {
    let process = Process()
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    process.standardOutput = output
    do { try process.run() } catch {
        print("could not start \(arguments.joined(separator: " ")): \(error)")
        return nil
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    var result: Result?
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        if line.hasPrefix(resultPrefix) {
            result = try? JSONDecoder().decode(Result.self, from: Data(line.dropFirst(resultPrefix.count).utf8))
        } else {
            print("   \(line)")
        }
    }
    if result == nil { print("\(arguments.joined(separator: " ")) gave no result (exit \(process.terminationStatus))") }
    return result
}

private func report<Value: Encodable>(_ value: Value) {
    guard let data = try? JSONEncoder().encode(value) else { return }
    print(resultPrefix + String(decoding: data, as: UTF8.self))
}

private func kernelDescription() -> String {
    var text = Kernels.backend.rawValue
    if Kernels.backend == .openBLAS, let core = Kernels.openBLASCoreSummary { text += ", core \(core)" }
    return text
}

private func seconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

// MARK: the children

/// Reads `directory` with the MovieLens "latest" reader, splits it with the protocol's split,
/// and times one meta-training epoch of the default method (MAML, second order) over at most
/// `timedTasks` warm users, picked evenly among them.
private func readAndSplit(directory: URL, timedTasks: Int) {
    do {
        var start = DispatchTime.now().uptimeNanoseconds
        let dataset = try MovieLens.loadLatest(directory: directory)
        let read = seconds(since: start)
        start = DispatchTime.now().uptimeNanoseconds
        let split = try ProtocolSplit(dataset: dataset)
        let splitting = seconds(since: start)
        let peak = ResourceUsage.peakResidentBytes() ?? 0
        let inputBytes = ["ratings.csv", "movies.csv"].reduce(0) { total, name in
            let path = directory.appendingPathComponent(name).path
            return total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }

        let configuration = RunConfiguration.standard
        var modelConfiguration = configuration.model
        modelConfiguration.outputBias = GlobalMean(training: split.warmInteractions).mean
        let model = MeLUModel(
            configuration: modelConfiguration, users: FeatureSpace(split.userFeatures),
            items: FeatureSpace(split.itemFeatures))
        var options = configuration.metaTraining
        options.maxEpochs = 1
        options.threads = 2
        let byUser = split.warmRatingsByUser().filter { $0.value.count >= options.minimumTaskSize }
        let users = byUser.keys.sorted()
        let stride = max(1, (users.count + timedTasks - 1) / max(timedTasks, 1))
        let timed = Swift.stride(from: 0, to: users.count, by: stride).map { users[$0] }
        var subset: [Int32: [Interaction]] = [:]
        for user in timed { subset[user] = byUser[user] }
        let features = FeatureContext(split)
        let validation = split.tasks(.validation).prefix(32).map { PreparedTask($0, features: features) }
        let learner = MetaLearner(model: model, options: options)
        start = DispatchTime.now().uptimeNanoseconds
        try learner.fit(training: subset, validation: validation, features: features)
        let training = seconds(since: start)
        print(
            "read \(dataset.interactions.count) ratings (\(dataset.userCount) users, \(dataset.itemCount) items); tasks: "
                + Scenario.allCases.map { "\($0.rawValue) \(split.statistics($0).tasks)" }.joined(separator: ", "))
        print(
            "meta-training: \(options.order == .second ? "MAML second order" : "first order"), \(options.adaptation.partition), "
                + "batches of \(options.metaBatchSize), 2 threads, \(timed.count) tasks timed of \(users.count) (every \(stride)), "
                + "with 2 validations of 32 tasks")
        report(
            ScaleCurves.DataPoint(
                interactions: dataset.interactions.count, users: dataset.userCount, items: dataset.itemCount,
                inputBytes: inputBytes, readSeconds: read, splitSeconds: splitting, peakResidentBytes: peak,
                epochTasks: users.count, timedTasks: timed.count, timedSeconds: training))
    } catch {
        print("read and split failed: \(error)")
    }
}

/// A catalogue of `items` items (genres and a release year each) rated by 300 users, a bundle
/// per state kind built from untrained parameters (ranking cost does not depend on their
/// values), one stored state adapted on 20 ratings, then `Recommender.recommend` timed.
private func rankCatalogue(items: Int) {
    let dataset = catalogueDataset(items: items)
    let experiment: Experiment
    do { experiment = try Experiment(dataset: dataset, seed: 0, threads: 2) } catch {
        print("could not split the catalogue: \(error)")
        return
    }
    let description = ModelArchive.DataDescription(
        name: dataset.name, source: "synthetic", seed: 0, implicitThreshold: nil)
    let kinds: [(String, () -> ModelArchive)] = [
        (
            "decision-layers",
            {
                var options = experiment.configuration.metaTraining
                options.adaptation.partition = .decisionLayers
                return ModelArchive(experiment.makeMetaLearner(options: options), data: description)
            }
        ),
        (
            "last-layer",
            {
                var options = experiment.configuration.metaTraining
                options.adaptation.partition = .lastLayer
                return ModelArchive(experiment.makeMetaLearner(options: options), data: description)
            }
        ),
        (
            "covariance-head",
            {
                var configuration = experiment.configuration.covariance
                configuration.initialBias = experiment.globalMean
                let head = CovarianceHead(
                    configuration: configuration, users: FeatureSpace(experiment.split.userFeatures),
                    items: FeatureSpace(experiment.split.itemFeatures))
                return ModelArchive(head, data: description)
            }
        ),
    ]
    // The feedback of one user: 20 warm ratings.
    let ratings = experiment.split.warmInteractions.prefix(20)
    let feedback = ratings.map { (item: dataset.itemIDs[Int($0.item)], value: $0.value) }
    let excluded = Set(feedback.map(\.item))
    let samples = items >= 1_000_000 ? 30 : items >= 100_000 ? 100 : 300
    var points: [ScaleCurves.RankingPoint] = []
    for (kind, archive) in kinds {
        do {
            let recommender = try Recommender(bundle: ModelBundle(archive: archive(), experiment: experiment))
            let state = try recommender.adapt(userFeatures: [:], feedback: feedback)
            var failures = 0
            let timing = latencies(count: samples) {
                do {
                    _ = try recommender.recommend(userFeatures: [:], state: state, count: 10, excluding: excluded)
                } catch { failures += 1 }
            }
            if failures > 0 { print("\(kind): \(failures) requests failed") }
            points.append(
                ScaleCurves.RankingPoint(
                    kind: kind, kernels: Kernels.backend.rawValue, items: items, p50Seconds: timing.p50,
                    p99Seconds: timing.p99, samples: samples))
        } catch {
            print("\(kind) at \(items) items: \(error)")
        }
    }
    report(points)
}

/// `items` items with genres and a release year, 300 users with 40 ratings each on random
/// items; items nobody rated stay in the catalogue (the bundle serves every item).
private func catalogueDataset(items: Int) -> Dataset {
    var random = SeededGenerator(seed: 7)
    let users = 300
    let genres = ["Action", "Comedy", "Drama", "Romance", "Thriller", "Horror", "Sci-Fi", "Documentary"]
    var interactions: [Interaction] = []
    for user in 0..<users {
        var time: Int64 = 1_000_000_000
        for item in random.sample(min(40, items), from: items).sorted() {
            time += 1 + Int64(random.integer(below: 10_000))
            interactions.append(
                Interaction(
                    user: Int32(user), item: Int32(item), value: Float(1 + random.integer(below: 5)), timestamp: time))
        }
    }
    interactions.sort { ($0.user, $0.timestamp, $0.item) < ($1.user, $1.timestamp, $1.item) }
    let itemGenres = (0..<items).map { _ in [genres[random.integer(below: genres.count)]] }
    let release = (0..<items).map { _ in Int64(random.integer(below: 1_500_000_000)) }
    let features = RawFeatures(columns: [
        RawFeatureColumn(name: "genres", spec: FeatureSpec(kind: .multiCategorical), values: .categories(itemGenres)),
        RawFeatureColumn(
            name: "year", spec: FeatureSpec(kind: .date, dateGranularity: .year),
            values: .numbers(release.map { Double($0) })),
    ])
    return Dataset(
        name: "catalogue-\(items)", feedback: .explicit, userCount: users, itemCount: items,
        interactions: interactions, userIDs: (0..<users).map { String($0 + 1) },
        itemIDs: (0..<items).map { String($0 + 1) }, itemReleaseTimes: release, rawItemFeatures: features)
}
