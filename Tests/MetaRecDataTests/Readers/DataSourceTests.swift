import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

/// Finding what a path holds, as the CLI and the service both need it.
@Suite struct DataSourceTests {
    @Test func detectsEachKindOfSource() throws {
        #expect(try DataSource.detect("synthetic", synthetic: .init(users: 5)) == .synthetic(.init(users: 5)))

        let movieLens = try makeDirectory(ml100KFiles())
        defer { try? FileManager.default.removeItem(at: movieLens) }
        #expect(
            try DataSource.detect(movieLens.path)
                == .movieLens(.ml100K, directory: URL(fileURLWithPath: movieLens.path)))
        let dataset = try DataSource.detect(movieLens.path).load()
        #expect(dataset.interactions.count == 4, "five rows, one duplicate (user, item) pair keeps the latest")

        let withSchema = try makeDirectory(["schema.yaml": text("ratings: r.csv\n")])
        defer { try? FileManager.default.removeItem(at: withSchema) }
        #expect(
            try DataSource.detect(withSchema.path)
                == .genericLog(schema: withSchema.appendingPathComponent("schema.yaml")))
        #expect(try DataSource.detect("/x/s.yml") == .genericLog(schema: URL(fileURLWithPath: "/x/s.yml")))
    }

    @Test func unknownPlacesAndFormatsAreNamed() throws {
        #expect { _ = try DataSource.detect("/nonexistent/place") } throws: { error in
            "\(error)".contains("/nonexistent/place") && "\(error)".contains("not found")
        }
        #expect { _ = try DataSource.detect("synthetic", format: "parquet") } throws: { error in
            "\(error)".contains("unknown format 'parquet'")
        }
        let empty = try makeDirectory(["notes.txt": text("nothing here\n")])
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect { _ = try DataSource.detect(empty.path) } throws: { error in
            "\(error)".contains("cannot tell the format")
        }
        #expect { _ = try DataSource.detect(empty.appendingPathComponent("notes.txt").path) } throws: { error in
            "\(error)".contains("is a file")
        }
    }
}
