import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

@Suite struct GenericLogTests {
    static let schemaYAML = """
        name: shop
        feedback: implicit
        threshold: 4
        interactions:
          file: log.tsv
          delimiter: tab
          user: who
          item: what
          value: stars
          timestamp: when
        users:
          file: users.csv
          id: uid
          features:
            - {name: age, column: age, type: numeric, transform: bucketed, buckets: [18, 30]}
            - {name: income, type: numeric}
            - {name: city, type: categorical}
        items:
          file: items.csv
          id: iid
          title: title
          release: released
          features:
            - {name: tags, type: multi-categorical, separator: ";"}
            - {name: decade, column: released, type: date, granularity: decade}
            - {name: embedding, type: dense, separator: " "}
          vectors: {file: vectors.txt, name: pretrained}
        """

    static func files(schema: String = schemaYAML) -> [String: [UInt8]] {
        [
            "schema.yaml": text(schema),
            "log.tsv": text(
                "who\twhat\tstars\twhen\nann\tbook\t5\t2020-01-02\nbob\tbook\t2\t2020-01-01T10:00:00\nann\tlamp\t3\t1577836800\nann\tbook\t1\t2019-01-01\n"
            ),
            "users.csv": text("uid,age,income,city\nann,25,1000,Oslo\nbob,40,,\"Paris, FR\"\ncarl,50,3,Rome\n"),
            "items.csv": text(
                "iid,title,tags,released,embedding\nbook,\"A Book, Vol. 1\",paper;gift,1999-05-01,0.5 1.5\nlamp,Lamp,home,2021,1 2\n"
            ),
            "vectors.txt": text("book 0.1,0.2,0.3\nlamp\t1 2 3\nghost 9 9 9\n"),
        ]
    }

    @Test func readsLogFeaturesAndVectors() throws {
        let dir = try makeDirectory(Self.files())
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml"))
        #expect(d.name == "shop")
        #expect(d.userIDs == ["ann", "bob"] && d.itemIDs == ["book", "lamp"])
        // ann/book twice: the row with the later timestamp (2020-01-02, value 5) wins, then >= 4 → 1.
        #expect(d.duplicatesRemoved == 1)
        #expect(d.interactions.map(\.value) == [0, 1, 0])  // ann: lamp (2020-01-01 00:00), book (01-02); bob: book
        #expect(d.interactions[0].timestamp == 1_577_836_800)
        #expect(d.itemTitles == ["A Book, Vol. 1", "Lamp"])
        #expect(d.itemReleaseTimes[1] == 1_609_459_200)  // 2021-01-01
        guard case .categories(let tags)? = d.rawItemFeatures["tags"]?.values else {
            Issue.record("no tags")
            return
        }
        #expect(tags == [["paper", "gift"], ["home"]])
        guard case .vectors(let dim, let values, let present)? = d.rawItemFeatures["pretrained"]?.values else {
            Issue.record("no vectors")
            return
        }
        #expect(dim == 3 && values == [0.1, 0.2, 0.3, 1, 2, 3] && present == [true, true])
        #expect(d.fileChecksums.keys.sorted() == ["items.csv", "log.tsv", "schema.yaml", "users.csv", "vectors.txt"])

        // Encoded on "training" = ann only: bob's city is unknown, his missing income is the mean.
        let encoder = FeatureEncoder.fit(d.rawUserFeatures, on: [0])
        let table = encoder.encode(d.rawUserFeatures, count: d.userCount)
        #expect(table.fields.map(\.kind) == [.numericBucketed, .numericStandardized, .categorical])
        #expect(table.fields[0].cardinality == 4)
        #expect(Array(table.indices(field: 0, entity: 0)) == [2] && Array(table.indices(field: 0, entity: 1)) == [3])
        #expect(Array(table.dense(field: 1, entity: 1)) == [0])
        #expect(Array(table.indices(field: 2, entity: 1)) == [0] && Array(table.indices(field: 2, entity: 0)) == [1])
        let items = FeatureEncoder.fit(d.rawItemFeatures, on: [0]).encode(d.rawItemFeatures, count: 2)
        #expect(Array(items.dense(field: 2, entity: 1)) == [1, 2])
        // The 2020s are unseen in training: the nearest known decade, not "unknown" (issue 12).
        #expect(Array(items.indices(field: 1, entity: 1)) == [1])
    }

    @Test func jsonSchemaWithColumnIndicesAndNoHeader() throws {
        let dir = try makeDirectory([
            "s.json": text(#"{"interactions": {"file": "r.csv", "header": false, "user": 1, "item": 0, "value": 2}}"#),
            "r.csv": text("i1,u1,4.5\ni2,u1,3\n"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let d = try GenericLog.load(schema: dir.appendingPathComponent("s.json"))
        #expect(d.userIDs == ["u1"] && d.itemIDs == ["i1", "i2"])
        #expect(d.interactions.map(\.value) == [4.5, 3])
        #expect(d.interactions.map(\.timestamp) == [1, 2])  // line order without a timestamp column
        #expect(d.feedback == .explicit)
    }

    @Test func unknownFeatureTypeIsNamed() throws {
        let dir = try makeDirectory(
            Self.files(schema: Self.schemaYAML.replacingOccurrences(of: "type: categorical", with: "type: colour")))
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(
            dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml")) }?.description
                == "schema.yaml: feature 'city' has unknown type 'colour'; expected one of categorical, multi-categorical, numeric, date, dense, text"
        )
    }

    @Test func badInputsNameFileAndLine() throws {
        var files = Self.files()
        files["users.csv"] = text("uid,age,income,city\nann,twenty,1000,Oslo\n")
        var dir = try makeDirectory(files)
        #expect(
            dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml")) }?.description
                == "users.csv line 2: expected a number for feature 'age', found 'twenty'")
        // With skipping, the bad user line is counted and the user has no features.
        let skipped = try GenericLog.load(
            schema: dir.appendingPathComponent("schema.yaml"), options: ImportOptions(skipBadLines: true))
        #expect(skipped.skippedLines == 1)
        try? FileManager.default.removeItem(at: dir)

        files = Self.files()
        files["vectors.txt"] = text("book 0.1 0.2 0.3\nlamp 1 2\n")
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml")) }?.description
                == "vectors.txt line 2: expected 3 numbers after the id (as on the first line), found 2")
        try? FileManager.default.removeItem(at: dir)

        files = Self.files()
        files["log.tsv"] = nil
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml")) }?.description
                .hasPrefix("log.tsv: file not found") == true)
        try? FileManager.default.removeItem(at: dir)

        files = Self.files()
        files["log.tsv"] = text("who\twhat\tstars\twhen\n")
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml")) }?.description
                .hasPrefix("log.tsv: no ratings found") == true)
        try? FileManager.default.removeItem(at: dir)

        files = Self.files()
        files["log.tsv"] = text("who\twhat\tstars\twhen\nann\tbook\t5\n")
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml")) }?.description
                == "log.tsv line 2: expected at least 4 tab-separated fields (user, item, value, timestamp), found 3")
        try? FileManager.default.removeItem(at: dir)

        files = Self.files(schema: Self.schemaYAML.replacingOccurrences(of: "user: who", with: "user: customer"))
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml")) }?.description
                == "schema.yaml: user column 'customer' is not in log.tsv's header; expected one of who, what, stars, when"
        )
        try? FileManager.default.removeItem(at: dir)

        files = Self.files(schema: "interactions: [1, 2\n")
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try GenericLog.load(schema: dir.appendingPathComponent("schema.yaml")) }?.description
                .hasPrefix("schema.yaml: expected a YAML schema") == true)
        try? FileManager.default.removeItem(at: dir)
    }
}
