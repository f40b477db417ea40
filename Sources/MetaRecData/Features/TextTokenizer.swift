/// How a `text` feature (a title, a description, free tags) becomes tokens.
public struct TextOptions: Sendable, Equatable, Codable {
    /// A token is kept in the vocabulary when at least this many training entities contain it;
    /// rarer tokens would get an embedding row trained on almost nothing.
    public var minimumCount: Int
    /// Word n-grams up to this length are tokens too (1: words only; 2: also "toy story").
    public var ngrams: Int

    public init(minimumCount: Int = 2, ngrams: Int = 1) {
        self.minimumCount = minimumCount
        self.ngrams = ngrams
    }
}

/// Splits text into lower-case word tokens at Unicode word boundaries: a word is a run of
/// letters, digits and combining marks (so "Amélie", "東京" and "o'neil" → "o", "neil" behave as
/// a reader expects), and everything else separates words.
public struct TextTokenizer: Sendable, Equatable, Codable {
    public var options: TextOptions

    public init(options: TextOptions = TextOptions()) { self.options = options }

    /// The words of `text`, lower case, in order.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber
                || character.unicodeScalars.allSatisfy({ $0.properties.isGraphemeExtend })
            {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The distinct tokens of `texts` (words, then n-grams up to `options.ngrams`), in first-seen order.
    public func tokens(_ texts: [String]) -> [String] {
        var seen = Set<String>()
        var tokens: [String] = []
        for text in texts {
            let words = Self.words(text)
            for length in 1...max(1, options.ngrams) where words.count >= length {
                for start in 0...(words.count - length) {
                    let token = words[start..<(start + length)].joined(separator: " ")
                    if seen.insert(token).inserted { tokens.append(token) }
                }
            }
        }
        return tokens
    }

    /// The vocabulary of the `training` entities' texts: tokens found in at least
    /// `options.minimumCount` of them, numbered from 1 in sorted order (row 0 is "no known token").
    public func vocabulary(_ texts: [[String]], training: [Int32]) -> [String: Int32] {
        var counts: [String: Int] = [:]
        for entity in training where Int(entity) < texts.count {
            for token in tokens(texts[Int(entity)]) { counts[token, default: 0] += 1 }
        }
        let kept = counts.filter { $0.value >= max(1, options.minimumCount) }.keys.sorted()
        var vocabulary: [String: Int32] = [:]
        for (index, token) in kept.enumerated() { vocabulary[token] = Int32(index + 1) }
        return vocabulary
    }
}
