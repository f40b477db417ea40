import Foundation

/// Pretrained word vectors in the common text format (GloVe, fastText `.vec`, word2vec text):
/// one word and its floats per line, separated by spaces; an optional first line "count
/// dimension" is skipped. Used to initialise a `text` field's token embeddings.
public struct WordVectors: Sendable, Equatable {
    public var dimension: Int
    /// Lower-cased word → vector (the first line of a word wins), matching ``TextTokenizer``'s tokens.
    public var vectors: [String: [Float]]

    public init(dimension: Int, vectors: [String: [Float]]) {
        self.dimension = dimension
        self.vectors = vectors
    }

    /// Reads `url`; a line with a bad number or a different dimension throws a ``DataError``
    /// naming the file and line.
    public static func read(_ url: URL) throws -> WordVectors {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DataError(
                file: url.lastPathComponent, "cannot read the word-vector file: \(error.localizedDescription)")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: url.lastPathComponent)
    }

    public static func parse(_ text: String, file: String) throws -> WordVectors {
        var dimension = 0
        var vectors: [String: [Float]] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if parts.isEmpty { continue }
            if index == 0, parts.count == 2, Int(parts[0]) != nil, Int(parts[1]) != nil { continue }  // word2vec header
            guard parts.count >= 2 else {
                throw DataError(
                    file: file, line: index + 1, "expected a word followed by its numbers, found '\(line.prefix(40))'")
            }
            var vector: [Float] = []
            vector.reserveCapacity(parts.count - 1)
            for part in parts.dropFirst() {
                guard let value = Float(part), value.isFinite else {
                    throw DataError(
                        file: file, line: index + 1, "expected a number for word '\(parts[0])', found '\(part)'")
                }
                vector.append(value)
            }
            if dimension == 0 { dimension = vector.count }
            guard vector.count == dimension else {
                throw DataError(
                    file: file, line: index + 1,
                    "expected \(dimension) numbers for word '\(parts[0])' (as on earlier lines), found \(vector.count)")
            }
            let word = parts[0].lowercased()
            if vectors[word] == nil { vectors[word] = vector }
        }
        guard dimension > 0 else {
            throw DataError(file: file, "no word vectors found; expected lines of a word and its numbers")
        }
        return WordVectors(dimension: dimension, vectors: vectors)
    }
}
