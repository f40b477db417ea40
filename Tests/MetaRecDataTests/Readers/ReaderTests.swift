import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

@Suite struct ReaderTests {
    @Test func movieLens100KReadsFeaturesTitlesAndKeepsLatestDuplicate() throws {
        let dir = try makeDirectory(ml100KFiles())
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try MovieLens.load100K(directory: dir)
        #expect(data.userIDs == ["1", "2", "10"])  // numeric order, not text order
        #expect(data.itemIDs == ["2", "10"])
        #expect(data.interactions.count == 4)
        #expect(data.duplicatesRemoved == 1)
        // user 1 rated item 10 at t=100 (4) and t=300 (2): the latest is kept
        let kept = data.interactions.filter { $0.user == 0 && $0.item == 1 }
        #expect(kept == [Interaction(user: 0, item: 1, value: 2, timestamp: 300)])
        // sorted by user, then time
        #expect(data.interactions.map(\.timestamp) == [50, 300, 200, 70])
        #expect(data.itemTitles?[0] == "Les Misérables (1995)")
        #expect(data.itemReleaseTimes[1] == 823_132_800)  // 1996-02-01
        guard case .categories(let genres) = data.rawItemFeatures["genres"]?.values else {
            Issue.record("no genres")
            return
        }
        #expect(genres[0] == ["Action", "Comedy"])
        guard case .categories(let zip) = data.rawUserFeatures["zip"]?.values else {
            Issue.record("no zip")
            return
        }
        #expect(zip[2] == ["T"])
        #expect(data.fileChecksums["u.data"]?.count == 64)
        #expect(data.fileChecksums.count == 5)
    }

    @Test func movieLens100KBadInputNamesFileLineAndExpectation() throws {
        var files = ml100KFiles()
        files["u.data"] = text("1\t10\t4\t100\n2\t10\t3\n")
        var dir = try makeDirectory(files)
        #expect(
            dataError { _ = try MovieLens.load100K(directory: dir) }?.description
                == "u.data line 2: expected 4 tab-separated fields (user, item, rating, timestamp), found 3")
        try? FileManager.default.removeItem(at: dir)

        files = ml100KFiles()
        files["u.data"] = text("1\t10\tfour\t100\n")
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try MovieLens.load100K(directory: dir) }?.description
                == "u.data line 1: expected a number for the rating (column 3), found 'four'")
        try? FileManager.default.removeItem(at: dir)

        files = ml100KFiles()
        files["u.data"] = text("1\t10\t4\tyesterday\n")
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try MovieLens.load100K(directory: dir) }?.description.hasPrefix(
                "u.data line 1: expected a timestamp") == true)
        try? FileManager.default.removeItem(at: dir)

        files = ml100KFiles()
        files["u.item"] = nil
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try MovieLens.load100K(directory: dir) }?.description.hasPrefix("u.item: file not found")
                == true)
        try? FileManager.default.removeItem(at: dir)

        files = ml100KFiles()
        files["u.data"] = []
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try MovieLens.load100K(directory: dir) }?.description.hasPrefix("u.data: no ratings found")
                == true)
        try? FileManager.default.removeItem(at: dir)

        files = ml100KFiles()
        files["u.item"] = text("2|A (1995)|01-Jan-1995||u|0|1|2\n")
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try MovieLens.load100K(directory: dir) }?.description
                == "u.item line 1: expected a genre flag 0 or 1 (field 8), found '2'")
        try? FileManager.default.removeItem(at: dir)

        files = ml100KFiles()
        files["u.user"] = text("1|24|M|astronaut|85711\n")
        dir = try makeDirectory(files)
        #expect(
            dataError { _ = try MovieLens.load100K(directory: dir) }?.description
                == "u.user line 1: expected an occupation listed in u.occupation (field 4), found 'astronaut'")
        try? FileManager.default.removeItem(at: dir)
    }

    @Test func skipBadLinesCountsThem() throws {
        var files = ml100KFiles()
        files["u.data"] = text("1\t10\t4\t100\n2\t10\n2\t2\tx\t5\n10\t2\t1\t70\n")
        let dir = try makeDirectory(files)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: DataError.self) { try MovieLens.load100K(directory: dir) }
        let data = try MovieLens.load100K(directory: dir, options: ImportOptions(skipBadLines: true))
        #expect(data.skippedLines == 2)
        #expect(data.skipReport.count == 2)
        #expect(data.skipReport[0].hasPrefix("u.data line 2:"))
        #expect(data.interactions.count == 2)
    }

    @Test func implicitFeedbackAppliesThreshold() throws {
        let dir = try makeDirectory(ml100KFiles())
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try MovieLens.load100K(directory: dir, feedback: .implicit(threshold: 4))
        #expect(data.interactions.map(\.value) == [1, 0, 0, 0])
    }

    @Test func movieLens1MReadsLatin1TitlesAndYears() throws {
        var movies = text("1::Toy Story (1995)::Animation|Children's|Comedy\n2::Cit")
        movies.append(0xE9)
        movies += text(" des enfants perdus, La (1995)::Adventure|Sci-Fi\n3::Unrated (2000)::Drama\n")
        let dir = try makeDirectory([
            "ratings.dat": text("1::1::5::978300760\n1::2::3::978302109\n6040::2::4::978301968\n"),
            "users.dat": text("1::F::1::10::48067\n6040::M::25::6::11106\n"),
            "movies.dat": movies,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(MovieLens.detectFormat(directory: dir) == .ml1M)
        let data = try MovieLens.load1M(directory: dir)
        #expect(data.userCount == 2 && data.itemCount == 2)  // movie 3 has no ratings
        #expect(data.itemTitles?[1] == "Cité des enfants perdus, La (1995)")
        #expect(data.itemReleaseTimes[0] == 788_918_400)  // 1995-01-01
        guard case .categories(let age) = data.rawUserFeatures["age"]?.values else {
            Issue.record("no age")
            return
        }
        #expect(age == [["1"], ["25"]])
        guard case .categories(let genres) = data.rawItemFeatures["genres"]?.values else {
            Issue.record("no genres")
            return
        }
        #expect(genres[0] == ["Animation", "Children's", "Comedy"])
    }

    @Test func movieLens1MBadLine() throws {
        let dir = try makeDirectory([
            "ratings.dat": text("1::1::5::978300760\n1::2:3::978302109\n"),
            "users.dat": text("1::F::1::10::48067\n"),
            "movies.dat": text("1::A (1995)::Drama\n"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(
            dataError { _ = try MovieLens.load1M(directory: dir) }?.description
                == "ratings.dat line 2: expected 4 '::'-separated fields (user, movie, rating, timestamp), found 3")
    }

    @Test func movieLens10MHalfStarsWithoutUsers() throws {
        let dir = try makeDirectory([
            "ratings.dat": text("1::122::5::838985046\n1::185::4.5::838983525\n"),
            "movies.dat": text("122::Boomerang (1992)::Comedy|Romance\n185::Net, The (1995)::Action|Crime|Thriller\n"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(MovieLens.detectFormat(directory: dir) == .ml10M)
        let data = try MovieLens.load10M(directory: dir)
        #expect(data.interactions.map(\.value) == [4.5, 5])  // time order
        #expect(data.rawUserFeatures.columns.isEmpty)
        #expect(data.itemTitles == ["Boomerang (1992)", "Net, The (1995)"])
    }

    @Test func movieLensLatestQuotedTitlesAndCRLF() throws {
        let dir = try makeDirectory([
            "ratings.csv": text(
                "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,4.0,964981247\r\n2,1,2.5,964982224\r\n"),
            "movies.csv": text(
                "movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation\r\n3,\"American President, The (1995)\",Comedy|Drama|Romance\r\n4,\"Say \"\"Hi\"\" (2001)\",(no genres listed)\r\n"
            ),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(MovieLens.detectFormat(directory: dir) == .latest)
        let data = try MovieLens.loadLatest(directory: dir)
        #expect(data.itemIDs == ["1", "3"])
        #expect(data.itemTitles?[1] == "American President, The (1995)")
        guard case .categories(let genres) = data.rawItemFeatures["genres"]?.values else {
            Issue.record("no genres")
            return
        }
        #expect(genres[1] == ["Comedy", "Drama", "Romance"])
        #expect(data.interactions.count == 3)
    }

    @Test func movieLensLatestUnterminatedQuote() throws {
        let dir = try makeDirectory([
            "ratings.csv": text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"),
            "movies.csv": text("movieId,title,genres\n1,\"Toy Story (1995),Adventure\n"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(
            dataError { _ = try MovieLens.loadLatest(directory: dir) }?.description.hasPrefix(
                "movies.csv line 2: unterminated quoted field") == true)
    }

    @Test func sha256KnownVectors() {
        #expect(Checksum.sha256([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Checksum.sha256(text("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = text(
            String(
                repeating:
                    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                count: 1))
        #expect(Checksum.sha256(long) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func parsesNumbersAndDates() {
        func double(_ s: String) -> Double? {
            let b = text(s)
            return b.withUnsafeBufferPointer { parseDouble($0, 0..<b.count) }
        }
        #expect(double("3.5") == 3.5)
        #expect(double(" -0.25 ") == -0.25)
        #expect(double("1e-3") == 0.001)
        #expect(double("4.") == 4)
        #expect(double("x") == nil)
        #expect(double("1.2.3") == nil)
        #expect(double("") == nil)
        #expect(parseDate("01-Jan-1995") == 788_918_400)
        #expect(parseDate("4-Feb-1971") == 34_473_600)
        #expect(parseDate("1995-01-01") == 788_918_400)
        #expect(parseDate("1995-01-01T00:00:10Z") == 788_918_410)
        #expect(parseDate("1995") == 788_918_400)
        #expect(parseDate("soon") == nil)
        #expect(yearOf(seconds: 788_918_400) == 1995)
        #expect(yearOf(seconds: -1) == 1969)
        #expect(yearInTitle("Toy Story (1995) ") == 1995)
        #expect(yearInTitle("Untitled") == nil)
    }

    @Test func realMovieLens100KIfPresent() throws {
        let dir = URL(fileURLWithPath: "/work/shared/data/ml-100k")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("u.data").path) else { return }
        let data = try MovieLens.load100K(directory: dir)
        #expect(data.userCount == 943 && data.itemCount == 1682 && data.interactions.count == 100_000)
        #expect(data.fileChecksums["u.data"] == "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490")
        #expect(data.itemReleaseTimes.filter { $0 == nil }.count == 1)
    }
}
