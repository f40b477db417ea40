import ArgumentParser
import Foundation
import MetaRecStore

/// Where a store is: `sqlite:PATH` (or a plain path).
enum StoreLocation {
    static func open(_ location: String) throws -> any RecommendationStore {
        let path = location.hasPrefix("sqlite:") ? String(location.dropFirst("sqlite:".count)) : location
        guard !path.isEmpty, !path.contains("://") else {
            throw ValidationError("--store '\(location)': expected sqlite:PATH")
        }
        return try SQLiteStore(path: path)
    }
}
