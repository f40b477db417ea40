import Foundation
import Testing

@testable import MetaRecEvaluation

/// Merging seeds: mean and sample standard deviation against hand computation, matching by
/// method name, the stream curve, and the errors for reports that do not belong together.
struct SeedSummaryTests {
    @Test func meanAndSampleStandardDeviation() throws {
        let summary = try #require(MeanAndSpread([1, 2, 3, 4]))
        #expect(abs(summary.mean - 2.5) < 1e-12)
        #expect(abs(summary.standardDeviation! - (5.0 / 3).squareRoot()) < 1e-12)  // Σ(x − x̄)² = 5, n − 1 = 3
        #expect(summary.count == 4)
        let partial = try #require(MeanAndSpread([0.5, nil, .nan, 0.7] as [Double?]))
        #expect(partial.count == 2 && abs(partial.mean - 0.6) < 1e-12)
        #expect(MeanAndSpread([2.0])?.standardDeviation == nil)
        #expect(MeanAndSpread([Double]()) == nil)
        #expect(MeanAndSpread([1.0, 2.0])?.formatted(digits: 2) == "1.50 ± 0.71")
    }

    @Test func mergesSeedsByMethodName() throws {
        let seed0 = ReportFixtures.table(
            seed: 0,
            methods: [
                ReportFixtures.method("MAML", mae: 0.80, curve: [1.0, 0.9, 0.85, 0.8]),
                ReportFixtures.method("global mean", mae: 0.95, curve: [0.95, 0.95, 0.95, 0.95]),
            ])
        let seed1 = ReportFixtures.table(
            seed: 1,
            methods: [
                ReportFixtures.method("global mean", mae: 0.97, curve: [0.97, 0.97, 0.97, 0.97]),
                ReportFixtures.method("MAML", mae: 0.90, curve: [1.2, 1.1, 0.95, 0.9]),
                ReportFixtures.method("Meta-SGD", mae: 0.70, curve: [1, 1, 1, 1]),
            ])
        let summary = try SeedSummary([ReportBundle(protocol: seed0), ReportBundle(protocol: seed1)])
        #expect(summary.seeds == [0, 1])
        #expect(summary.methods.map(\.name) == ["MAML", "global mean", "Meta-SGD"])
        let maml = try #require(summary.methods.first { $0.name == "MAML" }?.scenarios["user-cold"]?.meanAbsoluteError)
        #expect(abs(maml.mean - 0.85) < 1e-12)
        #expect(abs(maml.standardDeviation! - 0.1 / 2.0.squareRoot()) < 1e-12)
        let metaSGD = try #require(summary.methods.last?.scenarios["user-cold"]?.meanAbsoluteError)
        #expect(metaSGD.count == 1 && metaSGD.standardDeviation == nil)
        let curve = try #require(summary.methods.first?.fewShot)
        #expect(curve.map(\.k) == [0, 1, 3, -1])
        #expect(abs(curve[0].meanAbsoluteError!.mean - 1.1) < 1e-12)
        #expect(abs(summary.taskCounts["user-cold"]!.mean - 10.5) < 1e-12)
        let markdown = summary.markdown()
        #expect(markdown.contains("| MAML | 0.8500 ± 0.0707 |"))
        #expect(markdown.contains("K = all"))
    }

    @Test func cumulativeStreamCurve() {
        let points = StreamPoint.cumulative(errors: [1, 2, 3], aucs: [0.5, nil, 1.0])
        #expect(points.map(\.users) == [1, 2, 3])
        #expect(points.map(\.gauc) == [0.5, 0.5, 0.75])
        #expect(points.last?.meanAbsoluteError == 2)
        let long = StreamPoint.cumulative(
            errors: Array(repeating: 1, count: 45), aucs: Array(repeating: 0.6, count: 45))
        #expect(long.count == StreamPoint.count)
        #expect(long.first?.users == 3 && long.last?.users == 45 && long.last?.fraction == 1)
        #expect(zip(long, long.dropFirst()).allSatisfy { $0.users < $1.users })
        #expect(StreamPoint.cumulative(errors: [], aucs: []).isEmpty)
    }

    @Test func mergesStreamCurvesPointByPoint() throws {
        let summary = try SeedSummary([
            ReportBundle(streaming: ReportFixtures.streaming(seed: 0, gaucs: [0.6, 0.8])),
            ReportBundle(streaming: ReportFixtures.streaming(seed: 1, gaucs: [0.8, 1.0])),
        ])
        let row = try #require(summary.streaming.first)
        #expect(row.curve.count == 2)
        #expect(abs(row.curve[0].gauc!.mean - 0.7) < 1e-12)  // (0.6 + 0.8) / 2
        #expect(abs(row.curve[1].gauc!.mean - 0.8) < 1e-12)  // (0.7 + 0.9) / 2
        #expect(abs(row.curve[1].gauc!.standardDeviation! - 0.2 / 2.0.squareRoot()) < 1e-12)
    }

    /// The online conditions' gain is paired per seed against the same seed's offline-only row,
    /// and forgetting (earlier users before → after) is carried over.
    @Test func streamGainIsPairedPerSeed() throws {
        func report(seed: UInt64, offline: Double, online: Double) -> StreamingReport {
            var stream = ReportFixtures.streaming(seed: seed, gaucs: [0.5])
            var base = stream.rows[0]
            base.condition = StreamingReport.offlineCondition
            base.auc = offline
            stream.rows[0].auc = online
            stream.rows[0].earlierAfter.auc = 0.6
            stream.rows.insert(base, at: 0)
            return stream
        }
        let summary = try SeedSummary([
            ReportBundle(streaming: report(seed: 0, offline: 0.70, online: 0.73)),
            ReportBundle(streaming: report(seed: 1, offline: 0.60, online: 0.61)),
        ])
        let online = try #require(summary.streaming.first { $0.condition == "online + replay" })
        #expect(abs(online.aucGain!.mean - 0.02) < 1e-12)  // (0.03 + 0.01) / 2
        #expect(abs(online.aucGain!.standardDeviation! - 0.02 / 2.0.squareRoot()) < 1e-12)
        #expect(online.earlierAUCAfter?.mean == 0.6)
        let offline = try #require(summary.streaming.first { $0.condition == StreamingReport.offlineCondition })
        #expect(offline.aucGain?.mean == 0)
        #expect(summary.markdown().contains("AUC − offline only"))
    }

    @Test func refusesReportsThatDoNotBelongTogether() {
        let a = ReportBundle(protocol: ReportFixtures.table(seed: 0, methods: []))
        let b = ReportBundle(protocol: ReportFixtures.table(seed: 0, methods: []))
        let other = ReportBundle(protocol: ReportFixtures.table(seed: 1, dataset: "synthetic", methods: []))
        #expect(throws: ReportMergeError.repeatedSeed(0, report: 2)) { try SeedSummary([a, b]) }
        #expect(throws: ReportMergeError.differentDatasets(expected: "ml-100k", found: "synthetic", report: 2)) {
            try SeedSummary([a, other])
        }
        #expect(throws: ReportMergeError.empty) { try SeedSummary([]) }
    }

    @Test func readsBundlesAndBareReportsAndNamesBadFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "metarec-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let table = ReportFixtures.table(seed: 2, methods: [ReportFixtures.method("MAML", mae: 0.8, curve: [1])])
        let bare = directory.appendingPathComponent("bare.json")
        let bundled = directory.appendingPathComponent("bundle.json")
        try table.json().write(to: bare, atomically: true, encoding: .utf8)
        try ReportBundle(protocol: table, streaming: ReportFixtures.streaming(seed: 2, gaucs: [0.5])).json()
            .write(to: bundled, atomically: true, encoding: .utf8)
        #expect(try ReportBundle(contentsOf: bare).protocol?.methods.first?.name == "MAML")
        let bundle = try ReportBundle(contentsOf: bundled)
        #expect(bundle.seed == 2 && bundle.streaming?.rows.first?.curve?.count == 1)

        // An undefined metric (NaN) is written as null instead of failing the report, and read back as undefined.
        var undefined = table
        undefined.methods[0].scenarios["user-cold"]?.meanAbsoluteError = .nan
        let withNaN = directory.appendingPathComponent("nan.json")
        let text = try undefined.json()
        #expect(text.contains("null") && !text.contains("nan\""))
        try text.write(to: withNaN, atomically: true, encoding: .utf8)
        #expect(
            try ReportBundle(contentsOf: withNaN).protocol?.methods[0].scenarios["user-cold"]?.meanAbsoluteError.isNaN
                == true)

        // A stream whose online updates diverged: its error, a trial's and a curve point's are NaN.
        var diverged = ReportFixtures.streaming(seed: 2, gaucs: [0.5])
        diverged.rows[0].meanAbsoluteError = .nan
        diverged.rows[0].adaptationMilliseconds = .nan
        diverged.rows[0].curve![0].meanAbsoluteError = .nan
        diverged.rows[0].learningRateTrials = [
            LearningRateTrial(learningRate: 0.1, auc: 0.5, meanAbsoluteError: .nan),
            LearningRateTrial(learningRate: 0.01, auc: 0.6, meanAbsoluteError: 0.4),
        ]
        let divergedFile = directory.appendingPathComponent("diverged.json")
        try ReportBundle(streaming: diverged).json().write(to: divergedFile, atomically: true, encoding: .utf8)
        let row = try #require(try ReportBundle(contentsOf: divergedFile).streaming?.rows.first)
        #expect(
            row.meanAbsoluteError.isNaN && row.adaptationMilliseconds.isNaN
                && row.curve?[0].meanAbsoluteError.isNaN == true)
        #expect(row.learningRateTrials?.map(\.meanAbsoluteError.isNaN) == [true, false])
        #expect(row.learningRateTrials?[1].meanAbsoluteError == 0.4 && row.updateMilliseconds == 1)

        // A bundle with a fault is named by that fault, not as a bare table missing 'dataset'.
        let faulty = directory.appendingPathComponent("faulty.json")
        try #"{"streaming": {"dataset": "x", "seed": 1}}"#.write(to: faulty, atomically: true, encoding: .utf8)
        do {
            _ = try ReportBundle(contentsOf: faulty)
            Issue.record("a streaming report without its rows was accepted")
        } catch {
            #expect(error.reason.contains("'options'") || error.reason.contains("'rows'"), "\(error.reason)")
        }

        let broken = directory.appendingPathComponent("broken.json")
        try #"{"dataset": "x", "seed": 1}"#.write(to: broken, atomically: true, encoding: .utf8)
        do {
            _ = try ReportBundle(contentsOf: broken)
            Issue.record("a report without its fields was accepted")
        } catch {
            #expect(error.file == broken.path)
            #expect(error.reason.contains("lacks the field"), "\(error.reason)")
        }
        #expect(throws: ReportFileError.self) {
            try ReportBundle(contentsOf: directory.appendingPathComponent("missing.json"))
        }
    }
}
