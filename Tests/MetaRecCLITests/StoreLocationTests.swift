import ArgumentParser
import Foundation
import Testing

@testable import metarec

/// `metarec serve --store`: which store a location opens, and errors that name the part that
/// is wrong without ever showing a password.
@Suite struct StoreLocationTests {
    @Test func sqliteLocationsAndPlainPathsOpenSQLite() throws {
        #expect(try StoreLocation.parse("sqlite:/tmp/x.sqlite").path == "/tmp/x.sqlite")
        #expect(try StoreLocation.parse("data/store.sqlite").path == "data/store.sqlite")
        #expect(try StoreLocation.parse("./odd:name.sqlite").path == "./odd:name.sqlite")
    }

    @Test func aPostgresURLOpensPostgresWithThePasswordKeptApart() throws {
        let location = try StoreLocation.parse(
            "postgres://metarec@127.0.0.1:25432/recs?schema=blue", password: "s3cret")
        guard case .postgres(let configuration) = location else {
            Issue.record("expected PostgreSQL, got \(location)")
            return
        }
        #expect(configuration.host == "127.0.0.1" && configuration.port == 25432 && configuration.database == "recs")
        #expect(configuration.username == "metarec" && configuration.schema == "blue")
        #expect(configuration.password == "s3cret")
        #expect(location.path == nil)
        #expect("\(location)" == "postgres://metarec@127.0.0.1:25432/recs?schema=blue")
    }

    @Test(arguments: ["mysql://root@db/recs", "redis://cache:6379", "data:store"])
    func anUnknownSchemeIsNamed(text: String) {
        let scheme = String(text.prefix { $0 != ":" })
        #expect { try StoreLocation.parse(text) } throws: { error in
            let message = "\(error)"
            return message.contains("'\(scheme)'") && message.contains("postgres://")
        }
    }

    @Test(arguments: [
        "postgres://metarec:hunter2-pw@db/recs",
        "postgresql://metarec:hunter2-pw@db:5432/recs?schema=x",
        "mysql://metarec:hunter2-pw@db/recs",
    ])
    func aPasswordIsNeverInAMessage(text: String) {
        #expect { try StoreLocation.parse(text) } throws: { !"\($0)".contains("hunter2") }
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--store", text]) }
        do {
            _ = try ServeCommand.parse(["--store", text])
        } catch {
            #expect(!ServeCommand.message(for: error).contains("hunter2"))
        }
    }

    @Test func thePasswordComesFromAFileOrPGPASSWORD() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-pw-\(UUID().uuidString)")
        try Data("from-file\nignored\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(try StoreLocation.password(file: file.path, environment: ["PGPASSWORD": "env"]) == "from-file")
        #expect(try StoreLocation.password(file: nil, environment: ["PGPASSWORD": "env"]) == "env")
        #expect(try StoreLocation.password(file: nil, environment: [:]) == nil)
        #expect { try StoreLocation.password(file: "/nonexistent/pw", environment: [:]) } throws: {
            "\($0)".contains("/nonexistent/pw")
        }
    }

    @Test func serveChecksTheStoreAtParseTime() throws {
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--store", "sqlite:"]) }
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--store", "postgres://db/recs"]) }
        _ = try ServeCommand.parse(["--store", "postgres://metarec@db/recs"])
        _ = try ServeCommand.parse(["--store", "store.sqlite"])
    }
}
