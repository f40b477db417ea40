import Foundation
import Testing

@testable import MetaRecData

/// The scale benchmark's generator writes what it claims, in files the MovieLens reader reads.
@Suite struct LargeSyntheticTests {
    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("metarec-large-synthetic-\(UUID().uuidString)")
    }

    @Test func writesTheClaimedCountsWithIDsInRange() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let shape = LargeSynthetic.Shape(users: 40, items: 60, interactions: 1_500, minimumPerUser: 20)
        let summary = try LargeSynthetic.write(shape, to: directory, seed: 3)
        #expect(summary.users == 40 && summary.items == 60 && summary.interactions == 1_500)

        let dataset = try MovieLens.loadLatest(directory: directory)
        // No duplicate (user, item) pair was written: the reader removes none and keeps every line.
        #expect(dataset.duplicatesRemoved == 0)
        #expect(dataset.skippedLines == 0)
        #expect(dataset.interactions.count == summary.interactions)
        #expect(dataset.userCount == summary.users)
        #expect(dataset.itemCount == summary.ratedItems)
        #expect(summary.ratedItems <= summary.items)
        #expect(dataset.userIDs.allSatisfy { Int($0).map { (1...shape.users).contains($0) } ?? false })
        #expect(dataset.itemIDs.allSatisfy { Int($0).map { (1...shape.items).contains($0) } ?? false })
        var perUser = [Int](repeating: 0, count: dataset.userCount)
        for interaction in dataset.interactions { perUser[Int(interaction.user)] += 1 }
        #expect(perUser.allSatisfy { $0 >= shape.minimumPerUser && $0 <= shape.items })
        #expect(dataset.interactions.allSatisfy { $0.value >= 0.5 && $0.value <= 5 })
        // Every item of movies.csv has a release year from its title, and a genre.
        #expect(dataset.itemReleaseTimes.allSatisfy { $0 != nil })
        let bytes = try ["ratings.csv", "movies.csv"].reduce(0) {
            $0 + (try Data(contentsOf: directory.appendingPathComponent($1))).count
        }
        #expect(bytes == summary.bytes)
    }

    @Test func isDeterministicInTheSeed() throws {
        let first = temporaryDirectory()
        let second = temporaryDirectory()
        let third = temporaryDirectory()
        defer { for url in [first, second, third] { try? FileManager.default.removeItem(at: url) } }
        let shape = LargeSynthetic.Shape(users: 10, items: 30, interactions: 250, minimumPerUser: 20)
        try LargeSynthetic.write(shape, to: first, seed: 1)
        try LargeSynthetic.write(shape, to: second, seed: 1)
        try LargeSynthetic.write(shape, to: third, seed: 2)
        let ratings = { (url: URL) in try Data(contentsOf: url.appendingPathComponent("ratings.csv")) }
        #expect(try ratings(first) == ratings(second))
        #expect(try ratings(first) != ratings(third))
    }

    @Test func refusesAnImpossibleShape() {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        // 10 users × at least 20 ratings is more than 100.
        #expect(throws: DataError.self) {
            try LargeSynthetic.write(
                LargeSynthetic.Shape(users: 10, items: 50, interactions: 100, minimumPerUser: 20), to: directory)
        }
        // More ratings than user × item pairs.
        #expect(throws: DataError.self) {
            try LargeSynthetic.write(
                LargeSynthetic.Shape(users: 2, items: 20, interactions: 41, minimumPerUser: 20), to: directory)
        }
    }

    @Test func movieLensLikeShapeMatchesMovieLens25M() {
        let shape = LargeSynthetic.Shape.movieLensLike(interactions: 25_000_095)
        #expect(shape.users == 162_541 && shape.items == 62_423)
        let small = LargeSynthetic.Shape.movieLensLike(interactions: 1_000_000)
        #expect(small.users * small.minimumPerUser <= small.interactions)
    }
}
