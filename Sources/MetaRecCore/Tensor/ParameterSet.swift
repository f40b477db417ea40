/// A model's parameters by name, in a fixed order.
///
/// Models are written as functions of a parameter set rather than of stored properties, so a
/// meta-learner can evaluate the same model with fast weights in place of some parameters
/// (`replacing(_:)`) and differentiate through the substitution, as MAML needs; checkpoints
/// store the set by name.
///
/// ```swift
/// var parameters = ParameterSet()
/// parameters["output.weight"] = Tensor.zeros([64, 1]).asParameter()
/// let fast = parameters.replacing(["output.weight": parameters["output.weight"]! - gradient * 0.1])
/// ```
public struct ParameterSet: @unchecked Sendable {
    public private(set) var names: [String] = []
    private var tensorsByName: [String: Tensor] = [:]

    public init() {}

    public init(_ pairs: [(String, Tensor)]) {
        for (name, tensor) in pairs { self[name] = tensor }
    }

    public subscript(_ name: String) -> Tensor? {
        get { tensorsByName[name] }
        set {
            if tensorsByName[name] == nil, newValue != nil { names.append(name) }
            if newValue == nil { names.removeAll { $0 == name } }
            tensorsByName[name] = newValue
        }
    }

    /// The tensor called `name`; stops with a message naming it when there is none.
    public func tensor(_ name: String) -> Tensor {
        guard let tensor = tensorsByName[name] else {
            preconditionFailure("ParameterSet: no parameter named '\(name)' (have \(names.joined(separator: ", ")))")
        }
        return tensor
    }

    /// All tensors in order.
    public var tensors: [Tensor] { names.map { tensorsByName[$0]! } }

    /// The tensors of the given names, in that order.
    public func tensors(_ selected: [String]) -> [Tensor] { selected.map(tensor) }

    /// The same set with some tensors substituted (fast weights).
    public func replacing(_ substitutes: [String: Tensor]) -> ParameterSet {
        var copy = self
        for (name, tensor) in substitutes {
            precondition(copy.tensorsByName[name] != nil, "ParameterSet: cannot replace unknown parameter '\(name)'")
            copy.tensorsByName[name] = tensor
        }
        return copy
    }

    /// A deep copy with fresh leaves, so that training one copy leaves the other alone.
    public func copied() -> ParameterSet {
        ParameterSet(names.map { ($0, tensorsByName[$0]!.asParameter()) })
    }

    /// Total number of scalar parameters.
    public var scalarCount: Int { tensorsByName.values.reduce(0) { $0 + $1.count } }

    /// Overwrites values from another set with the same names and shapes.
    public func assign(from other: ParameterSet) {
        for name in names {
            let target = tensorsByName[name]!
            guard let source = other[name] else { continue }
            precondition(
                source.shape == target.shape,
                "ParameterSet.assign: '\(name)' has shape \(source.shape), expected \(target.shape)")
            target.values = source.denseValues
        }
    }
}
