import ArgumentParser
import Foundation
import MetaRecCore
import MetaRecData
import MetaRecModels

/// `metarec recommend --ask N`: the items a new user should rate next, from a covariance-head
/// checkpoint: the expected reduction of predictive variance over the catalogue times the
/// chance the user knows the item (``VarianceReductionChooser``), given the ratings so far.
extension RecommendCommand {
    static func questionLines(
        count: Int, predictor: ColdStartPredictor, experiment: Experiment, user: NewUserAnswers, pool: [Int32]
    ) throws -> [String] {
        guard let head = predictor as? CovarianceHead else {
            throw ValidationError("--ask needs a covariance-head checkpoint ('metarec train --method covariance'); this one is \(predictor.name)")
        }
        let popularity = ItemPopularity(training: experiment.split.warmInteractions)
        let chooser = VarianceReductionChooser(head: head, features: experiment.features, popularity: popularity)
        let chosen = chooser.choose(count: count, for: user, pool: pool)
        let reductions = chooser.expectedReductions(for: user, pool: chosen)
        let dataset = experiment.dataset
        var lines = [
            "\(chooser.name) after \(user.answers.count) ratings: \(chosen.count) items to rate next, best first",
            "rank\titem\texpected variance reduction\tknown by\ttitle",
        ]
        for (rank, item) in chosen.enumerated() {
            let title = dataset.itemTitles?[Int(item)] ?? ""
            let known = String(format: "%.1f%%", 100 * popularity.knownProbability(item))
            lines.append("\(rank + 1)\t\(dataset.itemIDs[Int(item)])\t\(String(format: "%.4f", reductions[rank]))\t\(known)\t\(title)")
        }
        return lines
    }
}
