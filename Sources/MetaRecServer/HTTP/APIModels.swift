import Foundation
import MetaRecModels

// The JSON bodies of the `/v1` API (Sources/MetaRecServer/openapi.yaml describes each).

struct UserBody: Codable, Sendable {
    var features: [String: FeatureValue]?
}

struct UserView: Codable, Sendable {
    var id: String
    var features: [String: FeatureValue]
    var feedbackCount: Int
    var createdAt: Date
}

struct FeedbackBody: Codable, Sendable {
    /// A number, or `true`/`false` for a click or a skip.
    enum Value: Codable, Sendable {
        case number(Double)
        case flag(Bool)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) {
                self = .flag(flag)
            } else {
                self = .number(try container.decode(Double.self))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .number(let number): try container.encode(number)
            case .flag(let flag): try container.encode(flag)
            }
        }
    }

    struct Entry: Codable, Sendable {
        var user: String
        var item: String
        /// A rating model's rating; a click model's 1 or `true` (click), 0 or `false` (skip).
        var value: Value?
        /// A raw rating, for a click model: a click when at or above the model's threshold.
        var rating: Double?
        /// Seconds since 1970; the time of arrival when absent.
        var timestamp: Double?

        /// As synthesised, except that an explicit `null` is refused rather than read as absent
        /// (`{"value": null, "rating": 4}` is not "exactly one of the two").
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            for key in [CodingKeys.value, .rating, .timestamp] where container.contains(key) {
                if try container.decodeNil(forKey: key) {
                    throw DecodingError.valueNotFound(
                        key == .value ? Value.self : Double.self,
                        .init(codingPath: container.codingPath + [key], debugDescription: "null"))
                }
            }
            user = try container.decode(String.self, forKey: .user)
            item = try container.decode(String.self, forKey: .item)
            value = try container.decodeIfPresent(Value.self, forKey: .value)
            rating = try container.decodeIfPresent(Double.self, forKey: .rating)
            timestamp = try container.decodeIfPresent(Double.self, forKey: .timestamp)
        }

        /// The value as the model reads it (``ModelBundle/FeedbackScale``); the service checks
        /// it is on the scale.
        func modelValue(scale: ModelBundle.FeedbackScale, index: Int) throws -> Float {
            switch (value, rating) {
            case (nil, nil):
                throw APIError(.badRequest, "feedback[\(index)]: needs 'value' (or, for a click model, 'rating')")
            case (.some, .some):
                throw APIError(.badRequest, "feedback[\(index)]: give 'value' or 'rating', not both")
            case (.flag(let flag), nil):
                guard scale.isClick else {
                    throw APIError(
                        .badRequest, "feedback[\(index)].value: this model reads ratings; expected \(scale.expected)")
                }
                return flag ? 1 : 0
            case (.number(let number), nil):
                guard number.isFinite, Float(number).isFinite else {
                    throw APIError(.badRequest, "feedback[\(index)].value: must be a finite number")
                }
                return Float(number)
            case (nil, .some(let raw)):
                guard raw.isFinite, Float(raw).isFinite else {
                    throw APIError(.badRequest, "feedback[\(index)].rating: must be a finite number")
                }
                return scale.click(fromRating: Float(raw)) ?? Float(raw)
            }
        }
    }
    var feedback: [Entry]
}

struct StoredCount: Codable, Sendable {
    var stored: Int
}

struct ItemView: Codable, Sendable {
    var id: String
    var title: String
    var features: [String: FeatureValue]
    var hidden: Bool
    var addedAt: Date?

    init(_ item: Recommender.Item) {
        id = item.id
        title = item.title
        features = item.features
        hidden = item.hidden
        addedAt = item.addedAt
    }
}

struct ItemBody: Codable, Sendable {
    var id: String
    var title: String?
    var features: [String: FeatureValue]?
}

struct ItemPatch: Codable, Sendable {
    var hidden: Bool
}

struct ItemPage: Codable, Sendable {
    var items: [ItemView]
    var total: Int
    var nextOffset: Int?
}

struct QuestionsView: Codable, Sendable {
    var user: String
    var items: [ItemView]
}

struct RecommendationsView: Codable, Sendable {
    struct Model: Codable, Sendable { var version: String }
    struct Entry: Codable, Sendable {
        var id: String
        var title: String
        var score: Float
        var standardDeviation: Float?
    }
    var user: String
    var model: Model
    var items: [Entry]
}

struct ModelView: Codable, Sendable {
    struct Scale: Codable, Sendable {
        var min: Float
        var max: Float
    }
    struct Field: Codable, Sendable {
        var name: String
        var kind: String
    }
    var version: String
    var method: String
    var objective: String
    var scale: Scale
    var hasUncertainty: Bool
    var itemFields: [Field]
    var userFields: [Field]
    var itemCount: Int
}

struct SessionView: Codable, Sendable {
    var user: String
    var token: String
    var expiresAt: Date
}

struct ErrorView: Codable, Sendable {
    var error: String
}

struct HealthView: Codable, Sendable {
    var status: String
}
