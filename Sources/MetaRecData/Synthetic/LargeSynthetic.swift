import Foundation
import MetaRecCore

/// A MovieLens-25M-like data set written straight to disk, for the scale benchmarks: millions
/// of ratings without holding them in memory (one user's ratings at a time), in the layout of
/// MovieLens "latest" and 20M/25M (`ratings.csv` and `movies.csv` with headers), so that
/// ``MovieLens/loadLatest(directory:feedback:options:)`` reads it as it would the real set.
///
/// The structure is simpler than ``BuiltInData/synthetic(seed:users:items:targetInteractions:feedback:itemContent:)``
/// (which plants tastes for quality tests): log-normal user activity with at least
/// `minimumPerUser` ratings (MovieLens keeps users with 20 or more), power-law item popularity
/// (the top 1% of items draw about a fifth of the ratings), half-star ratings from a user bias,
/// an item quality and a per-archetype genre taste, and timestamps increasing per user.
public enum LargeSynthetic {
    /// The size of a generated set.
    public struct Shape: Sendable, Equatable {
        public var users: Int
        /// Rows of movies.csv; an item nobody drew has no rating, so a reader sees `ratedItems` of them.
        public var items: Int
        public var interactions: Int
        public var minimumPerUser: Int

        public init(users: Int, items: Int, interactions: Int, minimumPerUser: Int = 20) {
            self.users = users
            self.items = items
            self.interactions = interactions
            self.minimumPerUser = minimumPerUser
        }

        /// Users and items scaled from MovieLens 25M (162,541 users, 62,423 movies, 25,000,095
        /// ratings): users in proportion to the ratings, items with their square root.
        public static func movieLensLike(interactions: Int) -> Shape {
            let share = Double(interactions) / 25_000_095
            return Shape(
                users: max(50, Int((162_541 * share).rounded())),
                items: max(100, Int((62_423 * share.squareRoot()).rounded())), interactions: interactions)
        }
    }

    /// What was written.
    public struct Summary: Sendable, Equatable {
        public var users: Int
        public var items: Int
        /// Distinct items with at least one rating (what a reader's item count will be).
        public var ratedItems: Int
        public var interactions: Int
        /// Sizes of ratings.csv and movies.csv.
        public var bytes: Int
    }

    static let genres = [
        "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
        "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ]

    /// Writes ratings.csv and movies.csv into `directory` (created if needed); deterministic in `seed`.
    /// User ids are 1...users, item ids 1...items.
    /// - Throws: `DataError` when the shape is impossible or a file cannot be written.
    @discardableResult
    public static func write(_ shape: Shape, to directory: URL, seed: UInt64 = 0) throws -> Summary {
        let users = shape.users
        let items = shape.items
        guard users >= 1, items >= 1, shape.minimumPerUser >= 1, shape.minimumPerUser <= items,
            shape.interactions >= users * shape.minimumPerUser, shape.interactions <= users * items
        else {
            throw DataError(
                file: directory.lastPathComponent,
                "cannot generate \(shape.interactions) ratings for \(users) users (at least \(shape.minimumPerUser) each) over \(items) items"
            )
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let root = SeededGenerator(seed: seed).derived("large-synthetic")

        // Items: a quality, a main genre and one or two more, a release year; a popularity rank
        // (a random permutation, so popular items are spread over ids and years).
        var random = root.derived("items")
        var quality = [Float](repeating: 0, count: items)
        var mainGenre = [UInt8](repeating: 0, count: items)
        var year = [Int](repeating: 0, count: items)
        var movies = ByteWriter()
        try movies.open(directory.appendingPathComponent("movies.csv"))
        movies.append("movieId,title,genres\n")
        for item in 0..<items {
            quality[item] = random.normal(mean: 0, standardDeviation: 0.5)
            let main = random.integer(below: genres.count)
            mainGenre[item] = UInt8(main)
            year[item] = 1920 + Int(100 * random.uniform().squareRoot())  // more recent films than old ones
            movies.append(number: item + 1)
            movies.append(",Film \(item + 1) (\(year[item])),\(genres[main])")
            var listed = [main]
            for _ in 0..<random.integer(below: 3) {
                let other = (main + 1 + random.integer(below: genres.count - 1)) % genres.count
                if !listed.contains(other) {
                    listed.append(other)
                    movies.append("|\(genres[other])")
                }
            }
            movies.append("\n")
            try movies.flushIfFull()
        }
        try movies.close()
        var byRank = Array(0..<Int32(items))
        random.shuffle(&byRank)

        // Users: log-normal activity scaled to the target exactly; an archetype's genre taste.
        random = root.derived("users")
        let counts = activity(shape, random: &random)
        let archetypes = 8
        let taste = (0..<(archetypes * genres.count)).map { _ in random.normal(mean: 0, standardDeviation: 0.6) }

        var ratings = ByteWriter()
        try ratings.open(directory.appendingPathComponent("ratings.csv"))
        ratings.append("userId,movieId,rating,timestamp\n")
        var takenBy = [Int32](repeating: -1, count: items)  // the last user who drew each item
        var rated = [Bool](repeating: false, count: items)
        var chosen: [Int32] = []
        let start: Int64 = 820_454_400  // 1996-01-01
        let span: Int64 = 24 * 365 * 86_400
        let exponent = 3.0  // rank = items · u³: P(rank < x · items) = x^(1/3)
        for user in 0..<users {
            let count = counts[user]
            let bias = random.normal(mean: 0, standardDeviation: 0.4)
            let archetype = random.integer(below: archetypes)
            chosen.removeAll(keepingCapacity: true)
            for _ in 0..<count {
                var item: Int32 = -1
                for _ in 0..<8 {
                    let rank = min(items - 1, Int(Double(items) * pow(Double(random.uniform()), exponent)))
                    let candidate = byRank[rank]
                    if takenBy[Int(candidate)] != Int32(user) {
                        item = candidate
                        break
                    }
                }
                if item < 0 {  // a heavy user has drawn the head: take the next free item
                    var probe = random.integer(below: items)
                    while takenBy[probe] == Int32(user) { probe = (probe + 1) % items }
                    item = Int32(probe)
                }
                takenBy[Int(item)] = Int32(user)
                rated[Int(item)] = true
                chosen.append(item)
            }
            var time = start + Int64(random.integer(below: Int(span / 2)))
            for item in chosen {
                let latent =
                    3.5 + bias + quality[Int(item)] + taste[archetype * genres.count + Int(mainGenre[Int(item)])]
                    + random.normal(mean: 0, standardDeviation: 0.7)
                let halfStars = min(10, max(1, Int((latent * 2).rounded())))
                time += Int64(1 + random.integer(below: 20_000))
                ratings.append(number: user + 1)
                ratings.append(byte: 0x2C)
                ratings.append(number: Int(item) + 1)
                ratings.append(byte: 0x2C)
                ratings.append(number: halfStars / 2)
                ratings.append(halfStars % 2 == 0 ? ".0," : ".5,")
                ratings.append(number: Int(time))
                ratings.append(byte: 0x0A)
            }
            try ratings.flushIfFull()
        }
        try ratings.close()
        return Summary(
            users: users, items: items, ratedItems: rated.lazy.filter { $0 }.count, interactions: shape.interactions,
            bytes: ratings.written + movies.written)
    }

    /// Ratings per user: `minimumPerUser` plus a log-normal share of the rest, adjusted so the
    /// total is exact and no user has more than every item.
    static func activity(_ shape: Shape, random: inout SeededGenerator) -> [Int] {
        let weights = (0..<shape.users).map { _ in Double(exp(random.normal(mean: 0, standardDeviation: 1.2))) }
        let total = weights.reduce(0, +)
        let spare = Double(shape.interactions - shape.users * shape.minimumPerUser)
        var counts = weights.map { min(shape.items, shape.minimumPerUser + Int(spare * $0 / total)) }
        var missing = shape.interactions - counts.reduce(0, +)
        var user = 0
        while missing > 0 {  // rounding down and the cap leave a remainder: one more each, round robin
            if counts[user] < shape.items {
                counts[user] += 1
                missing -= 1
            }
            user = (user + 1) % shape.users
        }
        return counts
    }
}

/// Bytes appended in memory and written in 1 MiB blocks.
private struct ByteWriter {
    private var buffer: [UInt8] = []
    private var handle: UnsafeMutablePointer<FILE>?
    private var name = ""
    private(set) var written = 0

    mutating func open(_ url: URL) throws {
        name = url.lastPathComponent
        guard let file = fopen(url.path, "w") else {
            throw DataError(file: name, "cannot create \(url.path): \(String(cString: strerror(errno)))")
        }
        handle = file
        buffer.reserveCapacity(1 << 21)
    }

    mutating func append(byte: UInt8) { buffer.append(byte) }
    mutating func append(_ text: String) { buffer.append(contentsOf: text.utf8) }

    /// A non-negative integer in decimal, without a String.
    mutating func append(number value: Int) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        )
        var remaining = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { slots in
            repeat {
                slots[count] = UInt8(0x30 + remaining % 10)
                remaining /= 10
                count += 1
            } while remaining > 0 && count < slots.count
            for k in stride(from: count - 1, through: 0, by: -1) { buffer.append(slots[k]) }
        }
    }

    mutating func flushIfFull() throws {
        if buffer.count >= 1 << 20 { try flush() }
    }

    mutating func flush() throws {
        guard let handle, !buffer.isEmpty else { return }
        let done = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        guard done == buffer.count else {
            throw DataError(file: name, "cannot write: \(String(cString: strerror(errno)))")
        }
        written += done
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func close() throws {
        try flush()
        if let handle, fclose(handle) != 0 {
            self.handle = nil
            throw DataError(file: name, "cannot close: \(String(cString: strerror(errno)))")
        }
        handle = nil
    }
}
