import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels
import MetaRecTestSupport
import Testing

/// A method written outside the library, served by ``Recommender`` through ``ServingMethod``
/// alone: each item's base score grows with its training popularity, and the user's state is
/// their mean offset from the scale's middle, added to every score.
private struct PopularityWithOffset: ServingMethod {
    var base: [Float]
    var middle: Float

    var methodName: String { "popularity-with-offset" }
    var objective: Objective { .rating }
    var stateSize: Int { 1 }

    func adapt(user: EntityBatch, userTable: FeatureTable, support: [(row: Int, target: Float)]) -> [Float] {
        guard !support.isEmpty else { return [0] }
        return [support.reduce(0) { $0 + $1.target } / Float(support.count) - middle]
    }

    func scores(user: EntityBatch, state: [Float]?) throws -> CatalogueScores {
        guard state == nil || state?.count == 1 else {
            throw RecommenderError(.invalid, "state of \(state?.count ?? 0) values, expected 1")
        }
        let offset = state?.first ?? 0
        return CatalogueScores(values: base.map { $0 + offset })
    }

    /// An item added while serving scores one above the best so far.
    func appending(item: EntityBatch) -> PopularityWithOffset {
        PopularityWithOffset(base: base + [(base.max() ?? 0) + 1], middle: middle)
    }
}

@Suite struct ServingMethodTests {
    let experiment = ServingFixture.experiment

    /// The fake method over a bundle's catalogue: base scores from 1 to 4 by popularity.
    func served() throws -> (Recommender, [Float]) {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let bundle = try ModelBundle(contentsOf: url)
        let popularity = bundle.description.catalogue.popularity
        let most = Float(max(popularity.max() ?? 1, 1))
        let base = popularity.map { 1 + 3 * Float($0) / most }
        let scale = bundle.description.feedback
        let method = PopularityWithOffset(base: base, middle: (scale.minimum + scale.maximum) / 2)
        return (Recommender(bundle: bundle, method: method), base)
    }

    @Test func aMethodFromOutsideTheLibraryServesThroughTheRecommender() throws {
        let (recommender, base) = try served()
        let ids = recommender.bundle.description.catalogue.ids
        let scale = recommender.bundle.description.feedback
        #expect(recommender.methodName == "popularity-with-offset")
        #expect(!recommender.hasUncertainty && recommender.adaptedStateSize == 1)

        // The prior: every item at its base score, ranked high to low, ties in catalogue order.
        let prior = try recommender.recommend(userFeatures: [:], state: nil, count: ids.count)
        let expectedOrder = ids.indices.sorted { base[$0] > base[$1] || (base[$0] == base[$1] && $0 < $1) }
        #expect(prior.map(\.id) == expectedOrder.map { ids[$0] })
        #expect(prior.allSatisfy { $0.standardDeviation == nil })

        // Feedback moves every score by the mean offset, clipped to the scale.
        let feedback: [(item: String, value: Float)] = [(ids[0], scale.maximum), (ids[1], scale.maximum - 1)]
        let state = try recommender.adapt(userFeatures: [:], feedback: feedback)
        let offset = (2 * scale.maximum - 1) / 2 - (scale.minimum + scale.maximum) / 2
        #expect(state.values == [offset])
        let adapted = try recommender.recommend(userFeatures: [:], state: state, count: ids.count)
        let byID = Dictionary(uniqueKeysWithValues: adapted.map { ($0.id, $0.score) })
        for (row, id) in ids.enumerated() { #expect(byID[id] == scale.clipped(base[row] + offset)) }

        // The method's own checks reach the caller; exploration needs a variance it lacks.
        #expect(throws: RecommenderError.self) {
            try recommender.recommend(userFeatures: [:], state: .init(values: [1, 2]), count: 1)
        }
        #expect(throws: RecommenderError.self) {
            try recommender.recommend(
                userFeatures: [:], state: nil, count: 1, exploration: .thompson(strength: 1))
        }
    }

    @Test func itemsAddedAndHiddenGoThroughTheMethodAndTheFilters() throws {
        let (recommender, base) = try served()
        let catalogue = recommender.bundle.description.catalogue
        try recommender.addItem(id: "added", title: "Added", features: catalogue.rawFeatures.values(of: 0))
        let top = try recommender.recommend(userFeatures: [:], state: nil, count: 1)
        #expect(
            top.map(\.id) == ["added"]
                && top.first?.score == recommender.bundle.description.feedback.clipped((base.max() ?? 0) + 1))
        recommender.setHidden("added", true)
        let best = base.indices.max { base[$0] < base[$1] || (base[$0] == base[$1] && $0 > $1) }!
        #expect(try recommender.recommend(userFeatures: [:], state: nil, count: 1).map(\.id) == [catalogue.ids[best]])
        // Without an exact posterior the questions are the most popular visible items.
        let questions = try recommender.questions(count: 3, excluding: [catalogue.ids[best]])
        let popular = catalogue.popularity.indices.sorted {
            catalogue.popularity[$0] > catalogue.popularity[$1]
                || (catalogue.popularity[$0] == catalogue.popularity[$1] && $0 < $1)
        }.filter { $0 != best }.prefix(3)
        #expect(questions.map(\.item.id) == popular.map { catalogue.ids[$0] })
        #expect(questions.allSatisfy { $0.expectedVarianceReduction == nil })
    }

    @Test func archiveKindsAreBareStringsAndEachNamesOneMethod() throws {
        let kinds = ModelArchive.methods.map { $0.archiveKind }
        #expect(Set(kinds).count == kinds.count)
        for kind in kinds {
            let json = try JSONEncoder().encode([kind])
            #expect(String(decoding: json, as: UTF8.self) == "[\"\(kind.rawValue)\"]")
            #expect(try JSONDecoder().decode([ModelArchive.Kind].self, from: json) == [kind])
        }
        // Each saved method is restored by the type its kind names, which serves it.
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        var archive = try ModelBundle(contentsOf: url).archive
        let restored: ColdStartPredictor = try archive.predictor()
        #expect(restored is MetaLearner && archive.header.kind == MetaLearner.archiveKind)
        archive.header.kind = ModelArchive.Kind(rawValue: "no-such-method")
        #expect { try archive.predictor() } throws: { error in
            "\(error)".contains("'no-such-method'") && "\(error)".contains("'meta-learner'")
        }
    }
}
