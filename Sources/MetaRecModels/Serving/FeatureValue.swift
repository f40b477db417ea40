import Foundation
import MetaRecData

/// One raw feature value as a client sends it (JSON): a string, a number, or a list of either.
/// Serving turns a dictionary of them into a one-entity ``RawFeatures`` for the bundle's
/// fitted ``FeatureEncoder``, so a new user or item is encoded exactly as training encoded its own.
public enum FeatureValue: Sendable, Equatable, Codable {
    case text(String)
    case number(Double)
    case texts([String])
    case numbers([Double])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let texts = try? container.decode([String].self) {
            self = .texts(texts)
        } else if let numbers = try? container.decode([Double].self) {
            self = .numbers(numbers)
        } else {
            throw DecodingError.typeMismatch(
                FeatureValue.self,
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "a feature value is a string, a number, or a list of strings or numbers"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .texts(let values): try container.encode(values)
        case .numbers(let values): try container.encode(values)
        }
    }

    /// The value as category labels (numbers written as integers when they are whole).
    var categories: [String] {
        func label(_ x: Double) -> String { x.rounded() == x && abs(x) < 1e15 ? String(Int64(x)) : String(x) }
        switch self {
        case .text(let value): return [value]
        case .texts(let values): return values
        case .number(let value): return [label(value)]
        case .numbers(let values): return values.map(label)
        }
    }
}

/// Why a feature dictionary, an item or a rating cannot be used; the message names the field or id.
public struct RecommenderError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Bad input: a field, a value, a duplicate.
        case invalid
        /// An item id the catalogue does not know.
        case unknownItem
    }
    public var kind: Kind
    public var description: String
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

extension FeatureEncoder {
    /// One entity's raw features from named values, in the encoder's column order; a field not
    /// given is missing (the unknown bucket, or zeros). `side` ("user" or "item") names errors.
    public func rawFeatures(_ values: [String: FeatureValue], side: String) throws -> RawFeatures {
        let known = Set(fields.map(\.name))
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw RecommenderError(
                .invalid,
                "\(side) feature '\(unknown)' is not a field of this model; known fields: \(fields.map(\.name).joined(separator: ", "))"
            )
        }
        var columns: [RawFeatureColumn] = []
        for field in fields {
            let value = values[field.name]
            let raw: RawFeatureValues
            switch field.kind {
            case .numericBucketed, .numericStandardized, .date:
                switch value {
                case nil: raw = .numbers([nil])
                case .number(let x)? where x.isFinite: raw = .numbers([x])
                case .text(let text)? where Double(text)?.isFinite == true: raw = .numbers([Double(text)!])
                default:
                    throw RecommenderError(.invalid, "\(side) feature '\(field.name)' must be a finite number")
                }
            case .dense:
                switch value {
                case nil:
                    raw = .vectors(
                        dimension: field.dimension, values: [Float](repeating: 0, count: field.dimension),
                        present: [false])
                case .numbers(let xs)? where xs.count == field.dimension && xs.allSatisfy(\.isFinite):
                    raw = .vectors(dimension: field.dimension, values: xs.map(Float.init), present: [true])
                default:
                    throw RecommenderError(
                        .invalid, "\(side) feature '\(field.name)' must be a list of \(field.dimension) finite numbers")
                }
            default:  // categorical kinds (and text, as labels)
                let labels = value?.categories ?? []
                if field.kind == .categorical, labels.count > 1 {
                    throw RecommenderError(
                        .invalid, "\(side) feature '\(field.name)' takes one value, got \(labels.count)")
                }
                raw = .categories([labels])
            }
            columns.append(RawFeatureColumn(name: field.name, spec: FeatureSpec(kind: field.kind), values: raw))
        }
        return RawFeatures(columns: columns)
    }
}

extension RawFeatures {
    /// Entity `entity`'s values by field name, as a client would send them (missing values left out).
    public func values(of entity: Int) -> [String: FeatureValue] {
        var result: [String: FeatureValue] = [:]
        for column in columns {
            switch column.values {
            case .categories(let lists):
                guard entity < lists.count, !lists[entity].isEmpty else { continue }
                result[column.name] = column.spec.kind == .categorical ? .text(lists[entity][0]) : .texts(lists[entity])
            case .numbers(let values):
                if entity < values.count, let value = values[entity] { result[column.name] = .number(value) }
            case .vectors(let dimension, let values, let present):
                guard entity < present.count, present[entity] else { continue }
                result[column.name] = .numbers(
                    values[(entity * dimension)..<((entity + 1) * dimension)].map(Double.init))
            }
        }
        return result
    }
}
