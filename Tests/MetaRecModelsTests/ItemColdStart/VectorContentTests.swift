import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// The vector path of item content: when an item's taste is planted only in a vector, a new
/// item known only by its vector is ranked where its planted taste says.
@Suite(.serialized) struct VectorContentTests {
    /// Share of query-item pairs of each item-cold task that the model orders as the planted
    /// expected ratings do (ties in the truth skipped), averaged over tasks.
    static func concordance(_ network: PretrainedNetwork, _ experiment: Experiment, truth: SyntheticGroundTruth)
        -> Double
    {
        let tasks = experiment.split.tasks(.itemCold).map { PreparedTask($0, features: experiment.features) }
        var total = 0.0
        for task in tasks {
            let predictions = network.predict(task)
            let expected = task.queryItemIDs.map { truth.expectedRating(user: Int(task.user), item: Int($0)) }
            var agree = 0.0
            var pairs = 0.0
            for i in expected.indices {
                for j in expected.indices where i < j && abs(expected[i] - expected[j]) > 1e-3 {
                    pairs += 1
                    if (predictions[i] - predictions[j]) * (expected[i] - expected[j]) > 0 { agree += 1 }
                }
            }
            total += pairs > 0 ? agree / pairs : 0.5
        }
        return total / Double(max(tasks.count, 1))
    }

    @Test func newItemWithOnlyItsVectorIsRankedByItsPlantedTaste() throws {
        let synthetic = BuiltInData.synthetic(
            seed: 4, users: 500, items: 160, targetInteractions: 24_000, itemContent: .vectorOnly(dimension: 16))
        #expect(synthetic.dataset.rawItemFeatures.columns.map(\.name) == ["content"])
        #expect(synthetic.dataset.rawItemFeatures.columns.allSatisfy { $0.spec.kind == .dense })
        // The control: the same vectors given to the wrong items carry no taste.
        var shuffled = synthetic.dataset
        guard case .vectors(let dimension, let values, let present) = shuffled.rawItemFeatures.columns[0].values else {
            Issue.record("no vectors")
            return
        }
        var order = Array(0..<shuffled.itemCount)
        var random = SeededGenerator(seed: 9)
        random.shuffle(&order)
        let permuted = order.flatMap { values[($0 * dimension)..<(($0 + 1) * dimension)] }
        shuffled.rawItemFeatures.columns[0].values = .vectors(dimension: dimension, values: permuted, present: present)

        var options = PretrainedNetwork.Options()
        options.maxEpochs = 8
        options.learningRate = 3e-3
        let configuration = MeLUModel.Configuration(embeddingSize: 8, hiddenSizes: [16])
        var scores: [Double] = []
        for dataset in [synthetic.dataset, shuffled] {
            let experiment = try Experiment(dataset: dataset, seed: 0)
            try #require(experiment.split.tasks(.itemCold).count >= 20)
            let network = try experiment.trainPretrained(options: options, model: configuration)
            scores.append(Self.concordance(network, experiment, truth: synthetic.groundTruth))
        }
        #expect(scores[0] > 0.62, "with the vectors \(scores[0])")
        #expect(scores[0] > scores[1] + 0.08, "with the vectors \(scores[0]), with shuffled vectors \(scores[1])")
    }

    @Test func numpyMatricesAndIdListsJoinByItemID() throws {
        // A float32 2 × 3 matrix, header padded as NumPy writes it.
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] =
            [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        for value: Float in [1, 2, 3, -4, 5.5, 6] { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        let directory = try makeDirectory([
            "items.npy": bytes, "ids.txt": Array("b\na\n".utf8), "bad.npy": Array(bytes.dropLast(4)),
            "vectors.txt": Array("a 1 2\nb 3 x\n".utf8),
        ])
        defer { try? FileManager.default.removeItem(at: directory) }
        let (ids, rows) = try ItemVectors.readNumpy(
            directory.appendingPathComponent("items.npy"), ids: directory.appendingPathComponent("ids.txt"))
        #expect(ids == ["b", "a"] && rows == [[1, 2, 3], [-4, 5.5, 6]])
        let column = ItemVectors.column(name: "v", ids: ids, rows: rows, itemIDs: ["a", "c", "b"])
        #expect(
            column.values
                == .vectors(dimension: 3, values: [-4, 5.5, 6, 0, 0, 0, 1, 2, 3], present: [true, false, true]))
        #expect(throws: DataError(file: "bad.npy", "expected 24 bytes of data for shape [2, 3], found 20")) {
            try NumpyMatrix.read(directory.appendingPathComponent("bad.npy"))
        }
        #expect(throws: DataError(file: "vectors.txt", line: 2, "expected a number, found 'x'")) {
            try ItemVectors.readText(directory.appendingPathComponent("vectors.txt"))
        }
    }
}
