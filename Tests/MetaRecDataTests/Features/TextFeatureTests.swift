import Foundation
import MetaRecTestSupport
import Testing

@testable import MetaRecData

@Suite struct TextFeatureTests {
    @Test func wordsAreLowerCaseAtUnicodeWordBoundaries() {
        #expect(
            TextTokenizer.words("Amélie: Le Fabuleux Destin d'Amélie Poulain") == [
                "amélie", "le", "fabuleux", "destin", "d", "amélie", "poulain",
            ])
        #expect(TextTokenizer.words("東京 Story, 2 (ÉTÉ)") == ["東京", "story", "2", "été"])
        #expect(TextTokenizer.words("  ...  ").isEmpty)
    }

    @Test func ngramsAreTokensWhenAsked() {
        let tokens = TextTokenizer(options: TextOptions(minimumCount: 1, ngrams: 2)).tokens(["Toy Story toy"])
        #expect(tokens == ["toy", "story", "toy story", "story toy"])
        #expect(TextTokenizer().tokens(["Toy Story toy"]) == ["toy", "story"])
    }

    /// Entities 0–2 are training items, 3 is new: "wars" occurs twice in training and is kept,
    /// "empire" once (below the minimum count), "return" only in the new item.
    func titles() -> RawFeatures {
        let texts: [[String]] = [
            ["Star Wars"], ["Wars of the Worlds"], ["The Empire"], ["Return of the Star Wars"], [],
        ]
        return RawFeatures(columns: [
            RawFeatureColumn(name: "title", spec: FeatureSpec(kind: .text), values: .categories(texts))
        ])
    }

    @Test func vocabularyComesFromTrainingItemsWithMinimumCount() {
        let encoder = FeatureEncoder.fit(titles(), on: [0, 1, 2])
        let vocabulary = encoder.textVocabulary(ofField: "title")!
        #expect(Set(vocabulary.keys) == ["wars", "the"])  // "of", "star" … once; "return" only in the new item
        #expect(encoder.fields[0].kind == .text)
        #expect(encoder.fields[0].cardinality == 3)
        let table = encoder.encode(titles(), count: 5)
        #expect(Array(table.indices(field: 0, entity: 0)) == [vocabulary["wars"]!])
        // A new item keeps its known tokens and drops the unseen ones.
        #expect(Set(table.indices(field: 0, entity: 3)) == [vocabulary["wars"]!, vocabulary["the"]!])
        // No known token (or no text): the unknown row.
        #expect(Array(table.indices(field: 0, entity: 4)) == [0])
        let withoutWars = FeatureEncoder.fit(titles(), on: [2])
        #expect(withoutWars.textVocabulary(ofField: "title")!.isEmpty)
        #expect(Array(withoutWars.encode(titles(), count: 5).indices(field: 0, entity: 0)) == [0])
    }

    @Test func movieLensTitlesAreTextWithoutTheirYear() throws {
        #expect(titleWithoutYear("Toy Story (1995)") == "Toy Story")
        #expect(titleWithoutYear("Big Night (The) ") == "Big Night (The)")
        let dir = try makeDirectory(ml100KFiles())
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try MovieLens.load100K(directory: dir)
        guard case .categories(let texts) = data.rawItemFeatures["title"]?.values else {
            Issue.record("no title feature")
            return
        }
        #expect(data.rawItemFeatures["title"]?.spec.kind == .text)
        #expect(texts[0] == ["Les Misérables"])
        #expect(data.withoutTextFeatures().rawItemFeatures["title"] == nil)
        #expect(data.withoutTextFeatures().rawItemFeatures["genres"] != nil)
    }
}
