import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// A text feature end to end: word vectors in the text format initialise (and can freeze) the
/// title tokens' embeddings, and the model reads titles as mean-pooled tokens.
@Suite struct TextContentTests {
    /// Six items; titles share words so that a vocabulary with minimum count 2 is not empty.
    func features() -> (FeatureContext, FeatureEncoder) {
        let titles: [[String]] = [
            ["Space Wars"], ["Space Love"], ["Love Story"], ["War Story"], ["Space Story"], ["Unseen Words"],
        ]
        let raw = RawFeatures(columns: [
            RawFeatureColumn(name: "title", spec: FeatureSpec(kind: .text), values: .categories(titles))
        ])
        let encoder = FeatureEncoder.fit(raw, on: [0, 1, 2, 3, 4])
        let users = FeatureEncoder.fit(
            RawFeatures(columns: [
                RawFeatureColumn(
                    name: "group", spec: FeatureSpec(kind: .categorical), values: .categories([["a"], ["b"]]))
            ]), on: [0, 1])
        let userRaw = RawFeatures(columns: [
            RawFeatureColumn(name: "group", spec: FeatureSpec(kind: .categorical), values: .categories([["a"], ["b"]]))
        ])
        return (FeatureContext(users: users.encode(userRaw, count: 2), items: encoder.encode(raw, count: 6)), encoder)
    }

    @Test func wordVectorsReadTheTextFormatAndNameBadLines() throws {
        let file = "3 2\nSpace 0.5 -1\nlove 1e-1 2\nstory 3 4\nspace 9 9\n"
        let vectors = try WordVectors.parse(file, file: "words.vec")
        #expect(vectors.dimension == 2)
        #expect(vectors.vectors["space"] == [0.5, -1])  // lower case; the first line of a word wins
        #expect(vectors.vectors.count == 3)
        #expect(throws: DataError(file: "words.vec", line: 3, "expected a number for word 'love', found 'x'")) {
            try WordVectors.parse("space 1 2\n\nlove x 2\n", file: "words.vec")
        }
        #expect(
            throws: DataError(
                file: "words.vec", line: 2, "expected 2 numbers for word 'love' (as on earlier lines), found 3")
        ) {
            try WordVectors.parse("space 1 2\nlove 1 2 3\n", file: "words.vec")
        }
    }

    @Test func wordVectorsInitialiseAndFrozenRowsStay() throws {
        let (context, encoder) = features()
        let directory = try makeDirectory(["words.txt": Array("space 0.5 -1\nlove 0.25 2\nstory 3 4\nwars 7 7\n".utf8)])
        defer { try? FileManager.default.removeItem(at: directory) }
        let vectors = try WordVectors.read(directory.appendingPathComponent("words.txt"))
        let model = MeLUModel(
            configuration: .init(embeddingSize: 2, hiddenSizes: [4]), users: FeatureSpace(context.users),
            items: FeatureSpace(context.items))
        var random = SeededGenerator(seed: 1)
        let parameters = model.initialParameters(using: &random)
        let vocabulary = try #require(encoder.textVocabulary(ofField: "title"))
        let found = try model.initialiseTextEmbedding(
            parameters, field: "title", vocabulary: vocabulary, vectors: vectors)
        #expect(found == 3)  // space, love, story (wars once in training: not in the vocabulary)
        let table = parameters.tensor(MeLUModel.textEmbeddingName(field: "title"))
        let space = Int(vocabulary["space"]!)
        #expect(Array(table.values[(space * 2)..<(space * 2 + 2)]) == [0.5, -1])
        // "Space Love" is the mean of its two token rows.
        let title = model.itemRepresentation(EntityBatch(context.items, entities: [1]), parameters: parameters)
        #expect(title.denseValues == [0.375, 0.5])
        // A new item with no known word reads the unknown row.
        #expect(Array(context.items.indices(field: 0, entity: 5)) == [0])

        let wrong = MeLUModel(
            configuration: .init(embeddingSize: 3, hiddenSizes: [4]), users: FeatureSpace(context.users),
            items: FeatureSpace(context.items))
        #expect(throws: TextEmbeddingError.self) {
            try wrong.initialiseTextEmbedding(
                wrong.initialParameters(using: &random), field: "title", vocabulary: vocabulary, vectors: vectors)
        }

        var options = PretrainedNetwork.Options()
        options.maxEpochs = 5
        options.frozenParameters = [MeLUModel.textEmbeddingName(field: "title")]
        let network = PretrainedNetwork(model: model, options: options, parameters: parameters.copied())
        let ratings = (0..<5).flatMap { item in
            (0..<2).map { Interaction(user: Int32($0), item: Int32(item), value: Float(item % 3 + 1), timestamp: 0) }
        }
        try network.fit(training: ratings, validation: [], features: context)
        let name = MeLUModel.textEmbeddingName(field: "title")
        #expect(network.parameters.tensor(name).denseValues == parameters.tensor(name).denseValues)
        #expect(network.parameters.tensor("output.bias").denseValues != parameters.tensor("output.bias").denseValues)
    }
}
