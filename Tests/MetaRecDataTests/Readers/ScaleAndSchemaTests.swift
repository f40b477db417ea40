import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

/// Values outside the data's scale, non-finite thresholds, absolute schema paths and
/// ratings-only folders (issue 13, "Validate before working" and "Featureless sides").
@Suite struct ScaleAndSchemaTests {
    @Test func movieLensRatingsOutsideOneToFiveAreRefusedWithFileAndLine() throws {
        for bad in ["7", "0", "-1", "1e30", "1e40"] {
            var files = ml100KFiles()
            files["u.data"] = text("1\t10\t4\t100\n2\t10\t\(bad)\t200\n")
            let dir = try makeDirectory(files)
            defer { try? FileManager.default.removeItem(at: dir) }
            let error = dataError { _ = try MovieLens.load100K(directory: dir) }
            #expect(error?.file == "u.data" && error?.line == 2, "rating \(bad): \(String(describing: error))")
            #expect(error?.message.contains(bad) == true)
        }
    }

    static func schema(_ extra: String = "", file: String = "log.csv", threshold: String? = nil) -> String {
        """
        name: plays
        \(threshold.map { "feedback: implicit\nthreshold: \($0)" } ?? "")
        interactions:
          file: \(file)
          user: u
          item: i
          value: v
        \(extra)
        """
    }

    @Test func aDeclaredScaleIsEnforcedAndInfinityAlways() throws {
        let log = text("u,i,v\na,x,3\nb,x,50\n")
        let dir = try makeDirectory(["s.yaml": text(Self.schema("  scale: [1, 5]")), "log.csv": log])
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("s.yaml")) }
        #expect(
            error?.file == "log.csv" && error?.line == 3 && error?.message.contains("scale 1-5") == true,
            "\(String(describing: error))")

        let huge = try makeDirectory(["s.yaml": text(Self.schema()), "log.csv": text("u,i,v\na,x,3\nb,x,1e40\n")])
        defer { try? FileManager.default.removeItem(at: huge) }
        let infinite = dataError { _ = try GenericLog.load(schema: huge.appendingPathComponent("s.yaml")) }
        #expect(infinite?.line == 3 && infinite?.message.contains("finite") == true, "\(String(describing: infinite))")

        let badScale = try makeDirectory(["s.yaml": text(Self.schema("  scale: [5, 1]")), "log.csv": log])
        defer { try? FileManager.default.removeItem(at: badScale) }
        #expect(
            dataError { _ = try GenericLog.load(schema: badScale.appendingPathComponent("s.yaml")) }?.message.contains(
                "scale") == true)
    }

    @Test func aNaNThresholdIsRefused() throws {
        let dir = try makeDirectory(["s.yaml": text(Self.schema(threshold: ".nan")), "log.csv": text("u,i,v\na,x,3\n")])
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("s.yaml")) }
        #expect(error?.message.contains("threshold") == true, "\(String(describing: error))")
    }

    @Test func absoluteSchemaPathsAreKept() throws {
        let data = try makeDirectory(["log.csv": text("u,i,v\na,x,3\nb,y,4\n")])
        let schemas = try makeDirectory([:])
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: schemas)
        }
        let absolute = data.appendingPathComponent("log.csv").path
        try Data(text(Self.schema(file: absolute))).write(to: schemas.appendingPathComponent("s.yaml"))
        let dataset = try GenericLog.load(schema: schemas.appendingPathComponent("s.yaml"))
        #expect(dataset.interactions.count == 2)
    }

    @Test func aRatingsOnlyLatestFolderLoadsWithoutItemFeatures() throws {
        let dir = try makeDirectory([
            "ratings.csv": text("userId,movieId,rating,timestamp\n1,10,4.5,100\n2,10,3,200\n2,11,0.5,300\n")
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(MovieLens.detectFormat(directory: dir) == .latest)
        let dataset = try MovieLens.loadLatest(directory: dir)
        #expect(dataset.interactions.count == 3)
        #expect(dataset.rawItemFeatures.isFeatureless && dataset.rawUserFeatures.isFeatureless)
        let encoder = FeatureEncoder.fit(dataset.rawItemFeatures, on: [0])
        #expect(encoder.fields.map(\.name) == [RawFeatures.priorField])
        #expect(encoder.encode(dataset.rawItemFeatures, count: 2).indices(field: 0, entity: 1) == [0])
    }
}
