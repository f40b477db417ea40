import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

/// Inputs that Scripts/fuzz.sh found crashing a reader, kept as fixtures: each must now give a
/// clear error (or load), never stop the process.
@Suite struct FuzzRegressionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz")

    /// Yams.load stopped the process (Constructor.swift:426, a force unwrap) on a mapping key
    /// with a non-string tag; found by `metarec-fuzz schema` in its first seconds.
    @Test func aTaggedMappingKeyInASchemaIsAnErrorNotACrash() throws {
        let url = Self.fixtures.appendingPathComponent("schema-yams-tagged-key.yaml")
        #expect(FileManager.default.fileExists(atPath: url.path))
        let error = dataError { _ = try GenericLog.load(schema: url) }
        #expect(error != nil)
        let minimal = try makeDirectory(["s.yaml": text("interactions: {file: a.csv, user: 0, item: 1,!b: 2}\n")])
        defer { try? FileManager.default.removeItem(at: minimal) }
        #expect(dataError { _ = try GenericLog.load(schema: minimal.appendingPathComponent("s.yaml")) } != nil)
    }

    @Test func yamlErrorsNameLineAndColumn() throws {
        let dir = try makeDirectory(["s.yaml": text("interactions:\n  file: a.csv\n  file: b.csv\n")])
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("s.yaml")) }
        #expect(error?.message.contains("line 3, column 3") == true, "\(String(describing: error))")
        #expect(error?.message.contains("twice") == true)
    }

    @Test func aliasesCannotExpandWithoutBound() throws {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<8 {
            yaml +=
                "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
                + "]\n"
        }
        let dir = try makeDirectory(["s.yaml": text(yaml)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("s.yaml")) }
        #expect(error?.message.contains("more than") == true, "\(String(describing: error))")
    }
}
