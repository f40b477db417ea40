import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

/// Honest loading: what a reader accepts but a user should know comes back as counted warnings
/// with the first ids (issue 13: cut side files, mixed-up ids and re-encoded files loaded silently).
@Suite struct LoadWarningTests {
    func load(_ change: (inout [String: [UInt8]]) -> Void) throws -> Dataset {
        var files = ml100KFiles()
        change(&files)
        let dir = try makeDirectory(files)
        defer { try? FileManager.default.removeItem(at: dir) }
        return try MovieLens.load100K(directory: dir)
    }

    @Test func cleanFilesGiveNoWarning() throws {
        #expect(try load { _ in }.loadWarnings.isEmpty)
    }

    @Test func usersAndItemsMissingFromSideFilesAreCountedWithIDs() throws {
        let dataset = try load {
            $0["u.user"] = text("1|24|M|technician|85711\n")  // users 2 and 10 cut off
            $0["u.item"] = text("")  // an empty item file
        }
        let users = try #require(dataset.loadWarnings.first { $0.file == "u.user" })
        #expect(users.count == 2 && users.examples == ["2", "10"])
        let items = try #require(dataset.loadWarnings.first { $0.file == "u.item" })
        #expect(items.count == 2 && items.description.contains("2 of 2 items"))
    }

    @Test func aCutLastLineIsReported() throws {
        let dataset = try load { $0["u.data"] = text("1\t10\t4\t100\n2\t10\t3\t200\n1\t2\t5\t5") }
        let warning = try #require(dataset.loadWarnings.first { $0.file == "u.data" })
        #expect(warning.message.contains("line 3") && warning.message.contains("cut"))
    }

    @Test func idsThatDifferOnlyByLeadingZerosAreReported() throws {
        let dataset = try load { $0["u.data"] = text("1\t10\t4\t100\n01\t10\t3\t200\n1\t2\t5\t50\n") }
        #expect(dataset.userIDs.count == 2, "kept apart, as written")
        let warning = try #require(dataset.loadWarnings.first { $0.message.contains("leading zeros") })
        #expect(warning.examples == ["01 / 1"])
    }

    @Test func aUTF8ItemFileIsReadAsUTF8NotMojibake() throws {
        let dataset = try load {
            $0["u.item"] = text(
                "2|Les Misérables (1995)|01-Jan-1995||http://x|0|1|1\n10|Toy Story (1995)|01-Feb-1996||http://y|0|0|1\n"
            )
        }
        #expect(dataset.itemTitles?[0] == "Les Misérables (1995)")
        #expect(dataset.loadWarnings.contains { $0.file == "u.item" && $0.message.contains("UTF-8") })
        // The shipped Latin-1 file still reads as Latin-1, without a warning.
        #expect(try load { _ in }.itemTitles?[0] == "Les Misérables (1995)")
    }

    @Test func genericSideFilesWarnToo() throws {
        let schema = """
            interactions: {file: log.csv, user: u, item: i}
            items: {file: items.csv, id: id, features: [{name: tag, type: categorical}]}
            """
        var items = text("id,tag\nx,caf")
        items.append(0xE9)  // Latin-1 é in a file read as UTF-8
        items += text("\n")
        let dir = try makeDirectory([
            "s.yaml": text(schema), "log.csv": text("u,i\na,x\na,y\nb,z\n"), "items.csv": items,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataset = try GenericLog.load(schema: dir.appendingPathComponent("s.yaml"))
        let missing = try #require(dataset.loadWarnings.first { $0.file == "items.csv" && $0.count == 2 })
        #expect(missing.examples == ["y", "z"])
        #expect(dataset.loadWarnings.contains { $0.message.contains("not valid UTF-8") })
    }
}

/// Dates in textual forms and by a schema's strptime-style format; derived columns.
@Suite struct DatesAndDerivedColumnsTests {
    @Test func textualDates() {
        let expected = secondsOf(year: 1995, month: 11, day: 22)
        for text in [
            "22 Nov 1995", "22 November 1995", "Nov 22, 1995", "November 22 1995", "22-Nov-1995", "1995-11-22",
        ] {
            #expect(parseDate(text) == expected, "\(text)")
        }
        for bad in ["31 Feb 1995", "22 Nov 95", "Nov 1995", "1995-02-30", "31-Feb-1995"] {
            #expect(parseDate(bad) == nil, "\(bad) accepted")
        }
    }

    @Test func strptimeStyleFormats() {
        #expect(parseDate("22/11/1995", format: "%d/%m/%Y") == secondsOf(year: 1995, month: 11, day: 22))
        #expect(
            parseDate("11.22.95 10:30", format: "%m.%d.%y %H:%M") == secondsOf(year: 1995, month: 11, day: 22) + 37_800)
        #expect(parseDate("22 Nov 1995", format: "%d %b %Y") == secondsOf(year: 1995, month: 11, day: 22))
        #expect(parseDate("30/02/1995", format: "%d/%m/%Y") == nil)
        #expect(parseDate("22/11/1995x", format: "%d/%m/%Y") == nil)
        // In a schema: the format first, then the built-in forms.
        #expect(parseDate("03/04/2020", schemaFormat: "%d/%m/%Y") == secondsOf(year: 2020, month: 4, day: 3))
        #expect(parseDate("2020-04-03", schemaFormat: "%d/%m/%Y") == secondsOf(year: 2020, month: 4, day: 3))
    }

    @Test func derivedColumnsFromACaptureOrAPrefix() throws {
        let schema = """
            date_format: "%d/%m/%Y"
            interactions: {file: log.csv, user: u, item: i, timestamp: t}
            users:
              file: users.csv
              id: id
              features: [{name: region, column: zip, type: categorical, prefix: 1}]
            items:
              file: items.csv
              id: id
              release: released
              features: [{name: year, column: title, type: categorical, pattern: "\\\\((\\\\d{4})\\\\)$"}]
            """
        let dir = try makeDirectory([
            "s.yaml": text(schema), "log.csv": text("u,i,t\na,x,03/04/2020\nb,y,2020-04-05\n"),
            "users.csv": text("id,zip\na,94043\nb,10001\n"),
            "items.csv": text("id,title,released\nx,Heat (1995),22/11/1995\ny,No Year,22 Nov 1995\n"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataset = try GenericLog.load(schema: dir.appendingPathComponent("s.yaml"))
        guard case .categories(let regions)? = dataset.rawUserFeatures["region"]?.values,
            case .categories(let years)? = dataset.rawItemFeatures["year"]?.values
        else {
            Issue.record("missing columns")
            return
        }
        #expect(regions == [["9"], ["1"]])
        #expect(years == [["1995"], []])
        #expect(
            dataset.itemReleaseTimes == [
                secondsOf(year: 1995, month: 11, day: 22), secondsOf(year: 1995, month: 11, day: 22),
            ])
        #expect(dataset.interactions.first?.timestamp == secondsOf(year: 2020, month: 4, day: 3))

        let bad = try makeDirectory([
            "s.yaml": text(schema.replacingOccurrences(of: "prefix: 1", with: "prefix: 0")),
            "log.csv": text("u,i\na,x\n"),
        ])
        defer { try? FileManager.default.removeItem(at: bad) }
        #expect(
            dataError { _ = try GenericLog.load(schema: bad.appendingPathComponent("s.yaml")) }?.message.contains(
                "prefix") == true)
    }
}
