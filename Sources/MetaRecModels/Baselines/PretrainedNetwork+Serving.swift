import Foundation
import MetaRecCore
import MetaRecData

/// A pretrained network's archive (kind `pretrained`: its parameters, pretraining options and
/// fine-tuning rule) and its serving form, ``NetworkServingMethod`` with that rule.
extension PretrainedNetwork: ServableMethod {
    public static var archiveKind: ModelArchive.Kind { .pretrained }

    public static func restore(from archive: ModelArchive) throws -> PretrainedNetwork {
        guard let options = archive.header.pretraining else { throw archive.missing("model configuration") }
        let model = try archive.network()
        let network = PretrainedNetwork(model: model, options: options, parameters: archive.parameters)
        network.fineTuning = archive.header.fineTuning
        return network
    }

    public func servingMethod(bundle: ModelBundle, catalogue: FeatureTable) throws -> any ServingMethod {
        try NetworkServingMethod(
            methodName: "pretrained", model: model, parameters: parameters, rule: fineTuning, rates: [:],
            bundle: bundle, catalogue: catalogue)
    }
}

extension ModelArchive.Kind {
    public static let pretrained = Self(rawValue: "pretrained")
}

extension ModelArchive {
    public init(_ network: PretrainedNetwork, data: DataDescription) {
        self.init(
            header: Header(
                kind: .pretrained, data: data, users: network.model.users, items: network.model.items,
                model: network.model.configuration, pretraining: network.options, fineTuning: network.fineTuning,
                createdBy: MetaRecVersion.string),
            parameters: network.parameters, innerRates: [:])
    }
}
