import ArgumentParser
import Foundation
import MetaRecModels

/// `metarec recommend --ask N`: the items a new user should rate next, given the ratings so far
/// (the library's ``Recommender/questions(count:state:excluding:)``, which the service's
/// questions endpoint and the onboarding page use too).
extension RecommendCommand {
    func questionLines(
        _ recommender: Recommender, features: [String: FeatureValue], pairs: [(String, Float)],
        candidates: [String]?
    ) throws -> [String] {
        let questions: [Recommender.Question]
        do {
            let state =
                pairs.isEmpty
                ? nil : try recommender.adapt(userFeatures: features, feedback: pairs.map { ($0.0, $0.1) })
            questions = try recommender.questions(
                count: ask, state: state, excluding: Set(pairs.map { $0.0 }), candidates: candidates)
        } catch let error as RecommenderError {
            throw ValidationError(error.description)
        }
        let how =
            recommender.hasUncertainty
            ? "expected reduction of predictive variance x chance the user knows the item" : "most popular first"
        var lines = [
            "after \(pairs.count) ratings: \(questions.count) items to rate next, best first (\(how))",
            "rank\titem\texpected variance reduction\tknown by\ttitle",
        ]
        for (rank, question) in questions.enumerated() {
            let reduction = question.expectedVarianceReduction.map { String(format: "%.4f", $0) } ?? "-"
            let known = String(format: "%.1f%%", 100 * question.knownShare)
            lines.append("\(rank + 1)\t\(question.item.id)\t\(reduction)\t\(known)\t\(question.item.title)")
        }
        return lines
    }
}
