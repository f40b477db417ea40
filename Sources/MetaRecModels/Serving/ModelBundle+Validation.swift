import Foundation
import MetaRecCore

extension ModelBundle {
    /// What makes this bundle unfit to serve, or nil. A checksum proves the bytes are the ones
    /// written, not that they make sense: a diverged run's NaN weights, or a header edited to
    /// say −1 inner steps, would otherwise serve nonsense or fail on every request.
    public func problem() -> String? {
        for (name, tensor) in archive.parameters.names.map({ ($0, archive.parameters.tensor($0)) })
        where !tensor.denseValues.allSatisfy(\.isFinite) {
            return "the weights '\(name)' hold a value that is not finite (NaN or infinite): the training run diverged"
        }
        for (name, tensor) in archive.innerRates where !tensor.denseValues.allSatisfy(\.isFinite) {
            return "the inner learning rates '\(name)' hold a value that is not finite"
        }
        for name in generator.names where !generator.tensor(name).denseValues.allSatisfy(\.isFinite) {
            return "the new-item generator's '\(name)' holds a value that is not finite"
        }
        if let covariance = archive.priorCovariance, !covariance.allSatisfy(\.isFinite) {
            return "the prior covariance holds a value that is not finite"
        }
        if let prior = archive.newItemPrior,
            !prior.covariance.allSatisfy(\.isFinite) || !(prior.noiseVariance.isFinite && prior.noiseVariance > 0)
        {
            return "the new-item prior holds a value that is not finite or a noise variance that is not positive"
        }
        let header = archive.header
        for (what, rule) in [
            ("metaTraining.adaptation", header.metaTraining?.adaptation), ("fineTuning", header.fineTuning),
        ] {
            guard let rule else { continue }
            if let problem = Self.problem(of: rule) { return "\(what): \(problem)" }
        }
        if let model = header.model {
            guard model.embeddingSize > 0, !model.hiddenSizes.isEmpty, model.hiddenSizes.allSatisfy({ $0 > 0 }) else {
                return
                    "model: embeddingSize \(model.embeddingSize) and hiddenSizes \(model.hiddenSizes) must be positive"
            }
        }
        if let covariance = header.covariance, covariance.embeddingSize <= 0 || covariance.representationSize <= 0 {
            return "covariance: embeddingSize and representationSize must be positive"
        }
        if let noise = header.noiseVariance, !(noise.isFinite && noise > 0) {
            return "noiseVariance \(noise) must be a positive finite number"
        }
        let scale = description.feedback
        guard scale.minimum.isFinite, scale.maximum.isFinite, scale.minimum <= scale.maximum else {
            return "the feedback scale \(scale.minimum)-\(scale.maximum) is not a finite range"
        }
        if let threshold = scale.implicitThreshold, !threshold.isFinite {
            return "the click threshold \(threshold) is not finite"
        }
        let catalogue = description.catalogue
        guard catalogue.popularity.count == catalogue.ids.count, catalogue.popularity.allSatisfy({ $0 >= 0 }) else {
            return
                "the catalogue's popularity has \(catalogue.popularity.count) counts for \(catalogue.ids.count) items"
        }
        if let titles = catalogue.titles, titles.count != catalogue.ids.count {
            return "the catalogue has \(titles.count) titles for \(catalogue.ids.count) items"
        }
        guard Set(catalogue.ids).count == catalogue.ids.count else { return "the catalogue lists an item id twice" }
        for (index, task) in (description.replayUsers?.tasks ?? []).enumerated() {
            guard task.items.count == task.values.count, task.supportCount >= 0, task.supportCount <= task.items.count,
                task.items.allSatisfy({ $0 >= 0 && Int($0) < catalogue.ids.count }),
                task.values.allSatisfy({ scale.contains($0) })
            else {
                return
                    "replay user \(index) has rows outside the catalogue or values the model does not read (expected \(scale.expected))"
            }
        }
        return nil
    }

    private static func problem(of rule: AdaptationRule) -> String? {
        guard rule.steps >= 0 else { return "inner steps \(rule.steps) must be 0 or more" }
        guard rule.learningRate.isFinite, rule.learningRate >= 0 else {
            return "inner learning rate \(rule.learningRate) must be a finite number >= 0"
        }
        for band in rule.supportSchedule?.bands ?? [] {
            guard band.minimumSupport >= 0, band.steps >= 0, band.rateScale.isFinite, band.rateScale >= 0 else {
                return
                    "support-size schedule band from \(band.minimumSupport) ratings: steps \(band.steps) and rate scale \(band.rateScale) must be >= 0"
            }
        }
        return nil
    }
}
