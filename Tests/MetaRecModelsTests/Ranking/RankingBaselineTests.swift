import Foundation
import MetaRecCore
import MetaRecData
import Testing

@testable import MetaRecModels

/// Each full-ranking baseline on a tiny world whose answer is worked out by hand.
@Suite struct RankingBaselineTests {
    /// Items 0, 1, 2 existing; 3, 4 new. Genres: 0 [A], 1 [A, B], 2 [B], 3 [A], 4 [C].
    let features: FeatureContext = {
        let genres = RawFeatureColumn(
            name: "genres", spec: FeatureSpec(kind: .multiCategorical),
            values: .categories([["A"], ["A", "B"], ["B"], ["A"], ["C"]]))
        let raw = RawFeatures(columns: [genres])
        // Vocabulary from the existing items only: C (item 4's genre) is unknown.
        let items = FeatureEncoder.fit(raw, on: [0, 1, 2]).encode(raw, count: 5)
        return FeatureContext(users: FeatureTable(count: 10), items: items)
    }()

    func task(_ support: [(Int32, Float)]) -> PreparedTask {
        PreparedTask(
            user: 9, support: support.map { Interaction(user: 9, item: $0.0, value: $0.1, timestamp: 0) },
            query: [], features: features)
    }

    func rating(_ user: Int32, _ item: Int32, _ value: Float = 5) -> Interaction {
        Interaction(user: user, item: item, value: value, timestamp: 0)
    }

    /// Warm: user 0 rated {0, 1}, user 1 {0, 1, 2}, user 2 {2}.
    var warm: [Interaction] {
        [rating(0, 0), rating(0, 1, 2), rating(1, 0), rating(1, 1), rating(1, 2), rating(2, 2, 1)]
    }

    /// Warm counts for existing items (0: 2, 1: 2, 2: 2 less a sampled negative); new items counted
    /// in the scenario's supports only (3: twice, 4: once); an existing item's support rating and a
    /// sampled negative (value 0) do not count.
    @Test func popularityCountsWarmThenSupports() {
        let warm = self.warm + [rating(2, 0, 0)]
        let supports = [rating(5, 3), rating(6, 3, 1), rating(6, 4), rating(6, 0), rating(7, 4, 0)]
        let popularity = Popularity(warm: warm, supports: supports, isNewItem: [false, false, false, true, true])
        #expect(popularity.scores(task([]), candidates: [0, 1, 2, 3, 4]) == [2, 2, 2, 2, 1])
    }

    /// G = XᵀX = [[2, 2, 1], [2, 2, 1], [1, 1, 2]]: cos(0, 1) = 2/2 = 1, cos(0, 2) = cos(1, 2) = 1/2.
    /// Support {0}: item 1 scores 1, item 2 scores 0.5; support {0, 2}: item 1 scores 1.5; a new
    /// item (no column) scores 0.
    @Test func itemKNNSumsCosineSimilarities() {
        let cooccurrence = ItemCooccurrence(warm: warm)
        #expect(cooccurrence.items == [0, 1, 2])
        #expect(cooccurrence.gram == [2, 2, 1, 2, 2, 1, 1, 1, 2])
        let knn = ItemKNN.fit(cooccurrence)
        #expect(knn.scores(task([(0, 5)]), candidates: [1, 2, 3]) == [1, 0.5, 0])
        #expect(knn.scores(task([(0, 5), (2, 1)]), candidates: [1]) == [1.5])
        // A click log's negative (value 0) in the support is not part of the profile.
        #expect(knn.scores(task([(0, 1), (2, 0)]), candidates: [1]) == [1])
    }

    /// EASE with λ = 1: A = G + I = [[3, 2, 1], [2, 3, 1], [1, 1, 3]], det A = 13, and by cofactors
    /// P = A⁻¹ = [[8, −5, −1], [−5, 8, −1], [−1, −1, 5]] / 13. B[i][j] = −P[i][j] / P[j][j]:
    /// B[0][1] = B[1][0] = 5/8, B[0][2] = B[1][2] = 1/5, B[2][0] = B[2][1] = 1/8, diagonal 0.
    @Test func easeMatchesItsClosedFormOnThreeItems() throws {
        let ease = try #require(EASE.fit(ItemCooccurrence(warm: warm), ridge: 1))
        let byHand: [Float] = [0, 0.625, 0.2, 0.625, 0, 0.2, 0.125, 0.125, 0]
        for (value, expected) in zip(ease.weights, byHand) { #expect(abs(value - expected) < 1e-5) }
        let scores = ease.scores(task([(0, 4)]), candidates: [1, 2, 4])
        #expect(abs(scores[0] - 0.625) < 1e-5 && abs(scores[1] - 0.2) < 1e-5 && scores[2] == 0)
    }

    /// The same closed form computed independently (adjugate over determinant, in Double) for a
    /// less regular matrix and λ = 2.5.
    @Test func easeMatchesTheAdjugateInverse() throws {
        let warm = [rating(0, 0), rating(0, 1), rating(1, 1), rating(1, 2), rating(2, 0), rating(2, 2), rating(3, 0)]
        let cooccurrence = ItemCooccurrence(warm: warm)
        let g = cooccurrence.gram.map(Double.init)
        var a = g
        for i in 0..<3 { a[i * 3 + i] += 2.5 }
        func at(_ i: Int, _ j: Int) -> Double { a[i * 3 + j] }
        let det =
            at(0, 0) * (at(1, 1) * at(2, 2) - at(1, 2) * at(2, 1)) - at(0, 1)
            * (at(1, 0) * at(2, 2) - at(1, 2) * at(2, 0))
            + at(0, 2) * (at(1, 0) * at(2, 1) - at(1, 1) * at(2, 0))
        func cofactor(_ i: Int, _ j: Int) -> Double {
            let rows = (0..<3).filter { $0 != i }
            let cols = (0..<3).filter { $0 != j }
            let minor = at(rows[0], cols[0]) * at(rows[1], cols[1]) - at(rows[0], cols[1]) * at(rows[1], cols[0])
            return ((i + j) % 2 == 0 ? 1 : -1) * minor
        }
        // P = adj(A) / det, adj(A)[i][j] = cofactor(j, i).
        let p = (0..<9).map { cofactor($0 % 3, $0 / 3) / det }
        let ease = try #require(EASE.fit(cooccurrence, ridge: 2.5))
        for i in 0..<3 {
            for j in 0..<3 {
                let expected = i == j ? 0 : -p[i * 3 + j] / p[j * 3 + j]
                #expect(abs(Double(ease.weights[i * 3 + j]) - expected) < 1e-5)
            }
        }
        #expect(EASE.fit(cooccurrence, ridge: 0) == nil)
        #expect(EASE.fit(cooccurrence, ridge: .nan) == nil)
    }

    /// Unit genre vectors: 0 = a, 1 = (a + b)/√2, 2 = b, 3 = a, 4 = nothing known (C is unseen).
    /// Liked (≥ 4) in the support: item 0 only → item 1 scores 1/√2, item 2 0, item 3 1, item 4 0.
    /// Nothing liked → every support item counts: support {2 (rated 2)} → item 1 scores 1/√2.
    @Test func contentKNNScoresBySimilarityToLikedItems() {
        let content = ContentKNN(items: features.items, likedAt: 4)
        let scores = content.scores(task([(0, 5), (2, 2)]), candidates: [1, 2, 3, 4])
        #expect(abs(scores[0] - Float(0.5).squareRoot()) < 1e-6)
        #expect(scores[1] == 0 && abs(scores[2] - 1) < 1e-6 && scores[3] == 0)
        let fallback = content.scores(task([(2, 2)]), candidates: [1])
        #expect(abs(fallback[0] - Float(0.5).squareRoot()) < 1e-6)
        #expect(content.scores(task([]), candidates: [1, 2]) == [0, 0])
        // An item id outside the table scores 0 rather than trapping.
        #expect(content.scores(task([(0, 5)]), candidates: [99, -1]) == [0, 0])
    }
}
