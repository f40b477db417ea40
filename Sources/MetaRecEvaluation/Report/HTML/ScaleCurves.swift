import Foundation

/// The figures `metarec-benchmark scale --json FILE` writes and `metarec report --scale FILE`
/// draws: reading and splitting, one meta-training epoch and ranking time against size (issue 19).
/// Times are seconds, memory bytes.
public struct ScaleCurves: Sendable, Codable, Equatable {
    /// One generated data set.
    public struct DataPoint: Sendable, Codable, Equatable {
        public var interactions: Int
        public var users: Int
        public var items: Int
        public var inputBytes: Int
        public var readSeconds: Double
        public var splitSeconds: Double
        /// The child process's peak resident memory after reading and splitting.
        public var peakResidentBytes: Int
        /// Tasks in one epoch (warm users with enough ratings), the tasks timed, and their time.
        public var epochTasks: Int
        public var timedTasks: Int
        public var timedSeconds: Double

        public init(
            interactions: Int, users: Int, items: Int, inputBytes: Int, readSeconds: Double, splitSeconds: Double,
            peakResidentBytes: Int, epochTasks: Int, timedTasks: Int, timedSeconds: Double
        ) {
            self.interactions = interactions
            self.users = users
            self.items = items
            self.inputBytes = inputBytes
            self.readSeconds = readSeconds
            self.splitSeconds = splitSeconds
            self.peakResidentBytes = peakResidentBytes
            self.epochTasks = epochTasks
            self.timedTasks = timedTasks
            self.timedSeconds = timedSeconds
        }

        /// The epoch's time: measured when every task was timed, else the timed rate times the tasks.
        public var epochSeconds: Double {
            timedTasks == 0 ? 0 : timedSeconds * Double(epochTasks) / Double(timedTasks)
        }
    }

    /// One request ranking a catalogue from a stored state.
    public struct RankingPoint: Sendable, Codable, Equatable {
        /// "decision-layers", "last-layer" or "covariance-head".
        public var kind: String
        /// "OpenBLAS" or "portable Swift".
        public var kernels: String
        public var items: Int
        public var p50Seconds: Double
        public var p99Seconds: Double
        public var samples: Int

        public init(kind: String, kernels: String, items: Int, p50Seconds: Double, p99Seconds: Double, samples: Int) {
            self.kind = kind
            self.kernels = kernels
            self.items = items
            self.p50Seconds = p50Seconds
            self.p99Seconds = p99Seconds
            self.samples = samples
        }
    }

    /// `uptime`'s load averages when the run ended, and the kernels' description.
    public var loadAverage: String
    public var kernels: String
    public var data: [DataPoint]
    public var ranking: [RankingPoint]

    public init(loadAverage: String, kernels: String, data: [DataPoint] = [], ranking: [RankingPoint] = []) {
        self.loadAverage = loadAverage
        self.kernels = kernels
        self.data = data
        self.ranking = ranking
    }

    /// Reads a file `metarec-benchmark scale --json` wrote.
    public init(contentsOf url: URL) throws {
        self = try JSONDecoder().decode(ScaleCurves.self, from: Data(contentsOf: url))
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// "25M", "100k", "1500".
    public static func shortCount(_ value: Int) -> String {
        if value >= 1_000_000 && value % 1_000_000 == 0 { return "\(value / 1_000_000)M" }
        if value >= 1_000 && value % 1_000 == 0 { return "\(value / 1_000)k" }
        return String(value)
    }
}

extension HTMLReport {
    /// The scale curves as two tables and a plot of ranking time against catalogue size.
    func scaleSection(_ curves: ScaleCurves) -> String {
        var parts: [String] = []
        let gib = { (bytes: Int) in String(format: "%.2f", Double(bytes) / 1_073_741_824) }
        if !curves.data.isEmpty {
            parts.append(
                table(
                    [
                        "interactions", "users", "items", "read (s)", "split (s)", "peak memory (GiB)",
                        "meta-training epoch (s)",
                    ],
                    curves.data.map { point in
                        [
                            ScaleCurves.shortCount(point.interactions), String(point.users), String(point.items),
                            String(format: "%.2f", point.readSeconds), String(format: "%.2f", point.splitSeconds),
                            gib(point.peakResidentBytes),
                            String(format: "%.1f", point.epochSeconds)
                                + (point.timedTasks < point.epochTasks
                                    ? " (from \(point.timedTasks) of \(point.epochTasks) tasks)" : ""),
                        ]
                    }, caption: "Reading and splitting synthetic MovieLens-25M-like sets (MovieLens 'latest' files)"))
        }
        let sizes = Array(Set(curves.ranking.map(\.items))).sorted()
        if !sizes.isEmpty {
            var series: [SVGLinePlot.Series] = []
            var rows: [[String]] = []
            for kernels in SeedSummary.ordered(curves.ranking.map(\.kernels)) {
                for kind in SeedSummary.ordered(curves.ranking.map(\.kind)) {
                    let points = sizes.enumerated().compactMap { index, size -> SVGLinePlot.Point? in
                        guard
                            let point = curves.ranking.first(where: {
                                $0.kind == kind && $0.kernels == kernels && $0.items == size
                            }), point.p50Seconds > 0
                        else { return nil }
                        return SVGLinePlot.Point(x: Double(index), y: log10(point.p50Seconds * 1e3))
                    }
                    guard !points.isEmpty else { continue }
                    series.append(
                        SVGLinePlot.Series(name: "\(kind), \(kernels)", points: points, dashed: kernels != "OpenBLAS"))
                    rows.append(
                        ["\(kind), \(kernels)"]
                            + sizes.map { size in
                                curves.ranking.first { $0.kind == kind && $0.kernels == kernels && $0.items == size }
                                    .map { String(format: "%.3f / %.3f", $0.p50Seconds * 1e3, $0.p99Seconds * 1e3) }
                                    ?? "–"
                            })
                }
            }
            parts.append(
                table(
                    ["state kind, kernels"] + sizes.map { "\(ScaleCurves.shortCount($0)) items" }, rows,
                    caption: "Ranking one request from a stored state: p50 / p99 in ms"))
            parts.append(
                SVGLinePlot(
                    title: "Ranking time against catalogue size", xLabel: "catalogue items",
                    yLabel: "log10 of p50 (ms)", series: series, categories: sizes.map(ScaleCurves.shortCount)
                ).svg())
        }
        parts.append(
            "<p class=\"note\">From <code>metarec-benchmark scale</code>; kernels \(HTML.escape(curves.kernels)); load average \(HTML.escape(curves.loadAverage)) (figures taken on a busy machine are noisy). Dashed lines: portable kernels.</p>"
        )
        return section("Scale curves", parts.joined(separator: "\n"))
    }
}
