import Foundation
import MetaRecCore
import MetaRecData

/// A meta-learner's archive (kind `meta-learner`: its parameters, inner rates and options) and
/// its serving form, ``NetworkServingMethod`` with the meta-learned adaptation rule.
extension MetaLearner: ServableMethod {
    public static var archiveKind: ModelArchive.Kind { .metaLearner }

    public static func restore(from archive: ModelArchive) throws -> MetaLearner {
        guard let options = archive.header.metaTraining else { throw archive.missing("model configuration") }
        let model = try archive.network()
        return MetaLearner(
            model: model, options: options, parameters: archive.parameters, innerRates: archive.innerRates)
    }

    /// Named by its meta-gradient: Meta-SGD (Li et al. 2017) when it learns its inner rates,
    /// first-order MAML or MAML (Finn et al. 2017).
    public func servingMethod(bundle: ModelBundle, catalogue: FeatureTable) throws -> any ServingMethod {
        try NetworkServingMethod(
            methodName: options.learnsInnerRates ? "meta-sgd" : options.order == .first ? "fomaml" : "maml",
            model: model, parameters: parameters, rule: options.adaptation, rates: innerRates, bundle: bundle,
            catalogue: catalogue)
    }
}

extension ModelArchive.Kind {
    public static let metaLearner = Self(rawValue: "meta-learner")
}

extension ModelArchive {
    public init(_ learner: MetaLearner, data: DataDescription) {
        self.init(
            header: Header(
                kind: .metaLearner, data: data, users: learner.model.users, items: learner.model.items,
                model: learner.model.configuration, metaTraining: learner.options, createdBy: MetaRecVersion.string),
            parameters: learner.parameters, innerRates: learner.innerRates)
    }
}
