import Foundation

/// Readers for the MovieLens data sets (https://grouplens.org/datasets/movielens/).
///
/// Each returns a `Dataset` with user features where the set has them (age bucket, gender,
/// occupation, first zip digit) and item features (genres; release year and decade).
public enum MovieLens {
    /// ML-1M's age groups, used for ML-100K's exact ages too so both sets share buckets:
    /// <18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+.
    public static let ageBoundaries: [Double] = [18, 25, 35, 45, 50, 56]

    /// Which MovieLens layout a directory holds, judged by its file names.
    public enum Format: String, Sendable, CaseIterable {
        case ml100K = "movielens-100k"
        case ml1M = "movielens-1m"
        case ml10M = "movielens-10m"
        case latest = "movielens-latest"
    }

    /// Guesses the layout of `directory`: u.data → 100K; ratings.dat with users.dat → 1M;
    /// ratings.dat without → 10M; ratings.csv → latest. Nil when none applies.
    public static func detectFormat(directory: URL) -> Format? {
        let fm = FileManager.default
        func has(_ name: String) -> Bool { fm.fileExists(atPath: directory.appendingPathComponent(name).path) }
        if has("u.data") { return .ml100K }
        if has("ratings.dat") { return has("users.dat") ? .ml1M : .ml10M }
        if has("ratings.csv") { return .latest }
        return nil
    }

    /// Loads `directory` in `format`.
    public static func load(
        _ format: Format, directory: URL, feedback: FeedbackKind = .explicit, options: ImportOptions = ImportOptions()
    ) throws -> Dataset {
        switch format {
        case .ml100K: return try load100K(directory: directory, feedback: feedback, options: options)
        case .ml1M: return try load1M(directory: directory, feedback: feedback, options: options)
        case .ml10M: return try load10M(directory: directory, feedback: feedback, options: options)
        case .latest: return try loadLatest(directory: directory, feedback: feedback, options: options)
        }
    }

    // MARK: 100K

    /// MovieLens 100K: u.data (tab-separated), u.user, u.item (ISO-8859-1), u.genre, u.occupation.
    public static func load100K(
        directory: URL, feedback: FeedbackKind = .explicit, options: ImportOptions = ImportOptions()
    ) throws -> Dataset {
        var builder = DatasetBuilder(feedback: feedback, options: options)
        let ratings = try builder.read(directory.appendingPathComponent("u.data"))
        try builder.readRatings(
            ratings,
            RecordFormat(
                delimiter: [0x09], quotes: false, header: false, fields: .exactly(4),
                describe: "4 tab-separated fields (user, item, rating, timestamp)"),
            RatingColumns(user: 0, item: 1, value: 2, timestamp: 3, scale: 1...5))
        let (interactions, duplicates) = try builder.finishInteractions()
        let users = builder.users
        let items = builder.items
        let userCount = builder.userIDs.count
        let itemCount = builder.itemIDs.count
        let pipe = [UInt8(ascii: "|")]

        // u.occupation: the list u.user's occupations must come from.
        let occupationFile = try builder.read(directory.appendingPathComponent("u.occupation"))
        var occupations = Set<String>()
        try forEachRecord(
            occupationFile,
            RecordFormat(
                delimiter: pipe, quotes: false, header: false, fields: .exactly(1), describe: "1 field (an occupation)"),
            &builder.handler
        ) { bytes, fields, _ in
            occupations.insert(fieldText(bytes, fields[0]))
        }

        // u.user: user id | age | gender | occupation | zip code
        let userFile = try builder.read(directory.appendingPathComponent("u.user"))
        var age = [Double?](repeating: nil, count: userCount)
        var gender = [[String]](repeating: [], count: userCount)
        var occupation = [[String]](repeating: [], count: userCount)
        var zip = [[String]](repeating: [], count: userCount)
        var userSeen = [Bool](repeating: false, count: userCount)
        try forEachRecord(
            userFile,
            RecordFormat(
                delimiter: pipe, quotes: false, header: false, fields: .exactly(5),
                describe: "5 '|'-separated fields (user, age, gender, occupation, zip code)"), &builder.handler
        ) { bytes, fields, line in
            guard let a = parseInt(bytes, fields[1].range), a >= 0 else {
                throw DataError(
                    file: userFile.name, line: line,
                    "expected an age in years (field 2), found '\(fieldText(bytes, fields[1]))'")
            }
            let job = fieldText(bytes, fields[3])
            guard occupations.isEmpty || occupations.contains(job) else {
                throw DataError(
                    file: userFile.name, line: line,
                    "expected an occupation listed in u.occupation (field 4), found '\(job)'")
            }
            guard let u = users.finalIndex(bytes, fields[0]) else { return }  // a user without ratings
            userSeen[Int(u)] = true
            age[Int(u)] = Double(a)
            gender[Int(u)] = nonEmpty(fieldText(bytes, fields[2]))
            occupation[Int(u)] = nonEmpty(job)
            zip[Int(u)] = nonEmpty(String(fieldText(bytes, fields[4]).prefix(1)))
        }

        builder.warnMissing("users", file: userFile.name, present: userSeen, ids: builder.userIDs)

        // u.genre: name | index
        let genreFile = try builder.read(directory.appendingPathComponent("u.genre"))
        var genreNames: [Int: String] = [:]
        try forEachRecord(
            genreFile,
            RecordFormat(
                delimiter: pipe, quotes: false, header: false, fields: .exactly(2),
                describe: "2 '|'-separated fields (genre, index)"), &builder.handler
        ) { bytes, fields, line in
            guard let index = parseInt(bytes, fields[1].range), index >= 0, index < 1000 else {
                throw DataError(
                    file: genreFile.name, line: line,
                    "expected a genre index (field 2), found '\(fieldText(bytes, fields[1]))'")
            }
            genreNames[Int(index)] = fieldText(bytes, fields[0])
        }
        guard !genreNames.isEmpty else {
            throw DataError(file: genreFile.name, "no genres found; expected lines 'genre|index'")
        }
        let genreCount = (genreNames.keys.max() ?? 0) + 1

        // u.item: id | title | release date | video release date | IMDb URL | one 0/1 flag per genre
        let itemFile = try builder.read(directory.appendingPathComponent("u.item"))
        // Declared ISO-8859-1, but a re-encoded copy is UTF-8: read it as such, and say so.
        let itemLatin1 = !isNonASCIIUTF8(itemFile.bytes)
        if !itemLatin1 {
            builder.warnings.append(
                LoadWarning(
                    file: itemFile.name, message: "is UTF-8, not ISO-8859-1 as MovieLens 100K declares: read as UTF-8"))
        }
        var itemSeen = [Bool](repeating: false, count: itemCount)
        var titles = [String](repeating: "", count: itemCount)
        var release = [Int64?](repeating: nil, count: itemCount)
        var genres = [[String]](repeating: [], count: itemCount)
        try forEachRecord(
            itemFile,
            RecordFormat(
                delimiter: pipe, quotes: false, header: false, fields: .exactly(5 + genreCount),
                describe:
                    "\(5 + genreCount) '|'-separated fields (item, title, release date, video release date, URL, \(genreCount) genre flags)"
            ), &builder.handler
        ) { bytes, fields, line in
            let dateText = fieldText(bytes, fields[2])
            var date: Int64? = nil
            if !dateText.isEmpty {
                guard let d = parseDate(dateText) else {
                    throw DataError(
                        file: itemFile.name, line: line,
                        "expected a release date such as 01-Jan-1995 (field 3), found '\(dateText)'")
                }
                date = d
            }
            var itemGenres: [String] = []
            for g in 0..<genreCount {
                let r = trimmed(bytes, fields[5 + g].range)
                guard r.count == 1, bytes[r.lowerBound] == 0x30 || bytes[r.lowerBound] == 0x31 else {
                    throw DataError(
                        file: itemFile.name, line: line,
                        "expected a genre flag 0 or 1 (field \(6 + g)), found '\(fieldText(bytes, fields[5 + g]))'")
                }
                if bytes[r.lowerBound] == 0x31 { itemGenres.append(genreNames[g] ?? "genre\(g)") }
            }
            guard let i = items.finalIndex(bytes, fields[0]) else { return }
            itemSeen[Int(i)] = true
            let titleRange = trimmed(bytes, fields[1].range)
            titles[Int(i)] = itemLatin1 ? decodeLatin1(bytes, titleRange) : decodeText(bytes, titleRange)
            release[Int(i)] = date
            genres[Int(i)] = itemGenres
        }

        builder.warnMissing("items", file: itemFile.name, present: itemSeen, ids: builder.itemIDs)

        let userFeatures = RawFeatures(columns: [
            RawFeatureColumn(
                name: "age", spec: FeatureSpec(kind: .numericBucketed, bucketBoundaries: ageBoundaries),
                values: .numbers(age)),
            RawFeatureColumn(name: "gender", spec: FeatureSpec(kind: .categorical), values: .categories(gender)),
            RawFeatureColumn(
                name: "occupation", spec: FeatureSpec(kind: .categorical), values: .categories(occupation)),
            RawFeatureColumn(name: "zip", spec: FeatureSpec(kind: .categorical), values: .categories(zip)),
        ])
        return builder.makeDataset(
            name: "ml-100k", interactions: interactions, duplicates: duplicates, itemTitles: titles,
            itemReleaseTimes: release, userFeatures: userFeatures,
            itemFeatures: movieFeatures(genres: genres, release: release, titles: titles))
    }

    // MARK: 1M and 10M

    /// MovieLens 1M: ratings.dat, users.dat, movies.dat ("::"-separated; movies.dat is ISO-8859-1).
    public static func load1M(
        directory: URL, feedback: FeedbackKind = .explicit, options: ImportOptions = ImportOptions()
    ) throws -> Dataset {
        try loadDat(
            directory: directory, name: "ml-1m", usersRequired: true, latin1: true, feedback: feedback, options: options
        )
    }

    /// MovieLens 10M: ratings.dat and movies.dat ("::"-separated, half-star ratings; no users.dat).
    public static func load10M(
        directory: URL, feedback: FeedbackKind = .explicit, options: ImportOptions = ImportOptions()
    ) throws -> Dataset {
        try loadDat(
            directory: directory, name: "ml-10m", usersRequired: false, latin1: false, feedback: feedback,
            options: options)
    }

    static func loadDat(
        directory: URL, name: String, usersRequired: Bool, latin1: Bool, feedback: FeedbackKind, options: ImportOptions
    ) throws -> Dataset {
        let colons: [UInt8] = [0x3A, 0x3A]
        var builder = DatasetBuilder(feedback: feedback, options: options)
        let ratings = try builder.read(directory.appendingPathComponent("ratings.dat"))
        try builder.readRatings(
            ratings,
            RecordFormat(
                delimiter: colons, quotes: false, header: false, fields: .exactly(4),
                describe: "4 '::'-separated fields (user, movie, rating, timestamp)"),
            RatingColumns(user: 0, item: 1, value: 2, timestamp: 3, scale: name == "ml-1m" ? 1...5 : 0.5...5))
        let (interactions, duplicates) = try builder.finishInteractions()
        let users = builder.users
        let userCount = builder.userIDs.count

        var userFeatures = RawFeatures()
        let usersURL = directory.appendingPathComponent("users.dat")
        if usersRequired || FileManager.default.fileExists(atPath: usersURL.path) {
            // users.dat: UserID::Gender::Age::Occupation::Zip-code (age and occupation are codes)
            let userFile = try builder.read(usersURL)
            var gender = [[String]](repeating: [], count: userCount)
            var age = [[String]](repeating: [], count: userCount)
            var occupation = [[String]](repeating: [], count: userCount)
            var zip = [[String]](repeating: [], count: userCount)
            try forEachRecord(
                userFile,
                RecordFormat(
                    delimiter: colons, quotes: false, header: false, fields: .exactly(5),
                    describe: "5 '::'-separated fields (user, gender, age, occupation, zip code)"), &builder.handler
            ) { bytes, fields, line in
                guard let a = parseInt(bytes, fields[2].range) else {
                    throw DataError(
                        file: userFile.name, line: line,
                        "expected an age code such as 18 (field 3), found '\(fieldText(bytes, fields[2]))'")
                }
                guard let o = parseInt(bytes, fields[3].range) else {
                    throw DataError(
                        file: userFile.name, line: line,
                        "expected an occupation code 0-20 (field 4), found '\(fieldText(bytes, fields[3]))'")
                }
                guard let u = users.finalIndex(bytes, fields[0]) else { return }
                gender[Int(u)] = nonEmpty(fieldText(bytes, fields[1]))
                age[Int(u)] = [String(a)]
                occupation[Int(u)] = [String(o)]
                zip[Int(u)] = nonEmpty(String(fieldText(bytes, fields[4]).prefix(1)))
            }
            userFeatures = RawFeatures(columns: [
                RawFeatureColumn(name: "age", spec: FeatureSpec(kind: .categorical), values: .categories(age)),
                RawFeatureColumn(name: "gender", spec: FeatureSpec(kind: .categorical), values: .categories(gender)),
                RawFeatureColumn(
                    name: "occupation", spec: FeatureSpec(kind: .categorical), values: .categories(occupation)),
                RawFeatureColumn(name: "zip", spec: FeatureSpec(kind: .categorical), values: .categories(zip)),
            ])
        }

        let movieFile = try builder.read(directory.appendingPathComponent("movies.dat"))
        let movies = try readMovies(
            movieFile,
            RecordFormat(
                delimiter: colons, quotes: false, header: false, fields: .exactly(3),
                describe: "3 '::'-separated fields (movie, title, genres)"), latin1: latin1, items: builder.items,
            itemCount: builder.itemIDs.count, handler: &builder.handler)
        builder.warnMissing("items", file: movieFile.name, present: movies.seen, ids: builder.itemIDs)
        return builder.makeDataset(
            name: name, interactions: interactions, duplicates: duplicates, itemTitles: movies.titles,
            itemReleaseTimes: movies.release, userFeatures: userFeatures,
            itemFeatures: movieFeatures(genres: movies.genres, release: movies.release, titles: movies.titles))
    }

    // MARK: latest

    /// MovieLens "latest" (and 20M/25M/32M): ratings.csv and movies.csv with a header, quoted
    /// titles, '|'-separated genres, possibly CRLF line ends. Without movies.csv, items have no
    /// features (the models then learn an item prior; see ``RawFeatures/priorField``).
    public static func loadLatest(
        directory: URL, feedback: FeedbackKind = .explicit, options: ImportOptions = ImportOptions()
    ) throws -> Dataset {
        var builder = DatasetBuilder(feedback: feedback, options: options)
        let comma: [UInt8] = [0x2C]
        let ratings = try builder.read(directory.appendingPathComponent("ratings.csv"))
        try builder.readRatings(
            ratings,
            RecordFormat(
                delimiter: comma, quotes: true, header: true, fields: .exactly(4),
                describe: "4 comma-separated fields (userId, movieId, rating, timestamp)"),
            RatingColumns(user: 0, item: 1, value: 2, timestamp: 3, scale: 0.5...5))
        let (interactions, duplicates) = try builder.finishInteractions()
        // A ratings-only folder (no movies.csv) is a log without item features: allowed.
        let moviesURL = directory.appendingPathComponent("movies.csv")
        guard FileManager.default.fileExists(atPath: moviesURL.path) else {
            return builder.makeDataset(name: "ml-latest", interactions: interactions, duplicates: duplicates)
        }
        let movieFile = try builder.read(moviesURL)
        let movies = try readMovies(
            movieFile,
            RecordFormat(
                delimiter: comma, quotes: true, header: true, fields: .exactly(3),
                describe: "3 comma-separated fields (movieId, title, genres); quote a title that contains commas"),
            latin1: false, items: builder.items, itemCount: builder.itemIDs.count, handler: &builder.handler)
        builder.warnMissing("items", file: movieFile.name, present: movies.seen, ids: builder.itemIDs)
        return builder.makeDataset(
            name: "ml-latest", interactions: interactions, duplicates: duplicates, itemTitles: movies.titles,
            itemReleaseTimes: movies.release,
            itemFeatures: movieFeatures(genres: movies.genres, release: movies.release, titles: movies.titles))
    }

    // MARK: shared

    /// movie id, title with "(year)", genres separated by '|'. The release time is 1 January of the title's year.
    static func readMovies(
        _ file: TextFile, _ format: RecordFormat, latin1: Bool, items: IDCollector, itemCount: Int,
        handler: inout BadLineHandler
    ) throws -> (titles: [String], release: [Int64?], genres: [[String]], seen: [Bool]) {
        var seen = [Bool](repeating: false, count: itemCount)
        var titles = [String](repeating: "", count: itemCount)
        var release = [Int64?](repeating: nil, count: itemCount)
        var genres = [[String]](repeating: [], count: itemCount)
        try forEachRecord(file, format, &handler) { bytes, fields, line in
            guard parseInt(bytes, fields[0].range) != nil || !trimmed(bytes, fields[0].range).isEmpty else {
                throw DataError(file: file.name, line: line, "expected a movie id (field 1), found an empty field")
            }
            guard let i = items.finalIndex(bytes, fields[0], latin1: latin1) else { return }
            seen[Int(i)] = true
            let title = fieldText(bytes, fields[1], latin1: latin1)
            titles[Int(i)] = title
            release[Int(i)] = yearInTitle(title).map { secondsOf(year: $0) }
            let list = fieldText(bytes, fields[2], latin1: latin1)
            genres[Int(i)] = list == "(no genres listed)" ? [] : list.split(separator: "|").map(String.init)
        }
        return (titles, release, genres, seen)
    }

    /// Genres, release year and decade, and the title as text (without its "(year)", which the
    /// date fields already carry, so that a new film's unseen year is not a token).
    static func movieFeatures(genres: [[String]], release: [Int64?], titles: [String]) -> RawFeatures {
        let times = release.map { $0.map(Double.init) }
        let texts = titles.map { nonEmpty(titleWithoutYear($0)) }
        return RawFeatures(columns: [
            RawFeatureColumn(name: "title", spec: FeatureSpec(kind: .text), values: .categories(texts)),
            RawFeatureColumn(name: "genres", spec: FeatureSpec(kind: .multiCategorical), values: .categories(genres)),
            RawFeatureColumn(
                name: "year", spec: FeatureSpec(kind: .date, dateGranularity: .year), values: .numbers(times)),
            RawFeatureColumn(
                name: "decade", spec: FeatureSpec(kind: .date, dateGranularity: .decade), values: .numbers(times)),
        ])
    }
}

/// "Toy Story (1995)" → "Toy Story".
func titleWithoutYear(_ title: String) -> String {
    var text = Substring(title).trimmingCharacters(in: .whitespaces)
    if text.hasSuffix(")"), let open = text.lastIndex(of: "("),
        text[text.index(after: open)..<text.index(before: text.endIndex)].allSatisfy(\.isNumber)
    {
        text = String(text[..<open]).trimmingCharacters(in: .whitespaces)
    }
    return text
}

@inline(__always)
func nonEmpty(_ s: String) -> [String] { s.isEmpty ? [] : [s] }
