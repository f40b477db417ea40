import Foundation
import Yams

/// YAML to plain values (dictionaries, arrays, strings, numbers, booleans, NSNull) for the
/// schema parser, built from Yams' node tree instead of `Yams.load`, which stops the process
/// on a mapping key with a non-string tag (found by Scripts/fuzz.sh: `{a: 1,!b: 2}`). Every
/// problem is a `DataError` with the line and column; aliases cannot expand without bound.
enum SchemaYAML {
    /// Nodes allowed after aliases are expanded: a schema has a few dozen.
    static let maximumNodes = 100_000

    static func load(_ text: String, file: String) throws -> Any? {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw DataError(file: file, "expected a YAML schema; the parser said: \(error)")
        }
        guard let node else { return nil }
        var budget = maximumNodes
        return try value(node, file: file, budget: &budget)
    }

    static func place(_ node: Node) -> String {
        node.mark.map { "line \($0.line), column \($0.column)" } ?? "somewhere"
    }

    static func value(_ node: Node, file: String, budget: inout Int) throws -> Any {
        budget -= 1
        guard budget >= 0 else {
            throw DataError(
                file: file,
                "the schema expands to more than \(maximumNodes) values (aliases?); expected a small mapping")
        }
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.description) {
            case Tag.Name.null: return NSNull()
            case Tag.Name.bool: return Bool.construct(from: scalar) ?? scalar.string
            case Tag.Name.int: return Int.construct(from: scalar) ?? scalar.string
            case Tag.Name.float: return Double.construct(from: scalar) ?? scalar.string
            default: return scalar.string
            }
        case .sequence(let sequence):
            var result: [Any] = []
            for element in sequence { result.append(try value(element, file: file, budget: &budget)) }
            return result
        case .mapping(let mapping):
            var result: [String: Any] = [:]
            for (key, element) in mapping {
                guard case .scalar(let scalar) = key else {
                    throw DataError(
                        file: file,
                        "\(place(key)): expected a plain key (a name), found a \(key.isMapping ? "mapping" : "list")")
                }
                guard result[scalar.string] == nil else {
                    throw DataError(
                        file: file, "\(place(key)): the key '\(scalar.string)' appears twice in one mapping")
                }
                result[scalar.string] = try value(element, file: file, budget: &budget)
            }
            return result
        }
    }
}

extension Node {
    fileprivate var isMapping: Bool { if case .mapping = self { return true } else { return false } }
}
