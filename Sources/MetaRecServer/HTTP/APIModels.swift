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
    struct Entry: Codable, Sendable {
        var user: String
        var item: String
        var value: Double
        /// Seconds since 1970; the time of arrival when absent.
        var timestamp: Double?
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
