import Foundation
import Yams

/// The schema file a ``GenericLog`` reads: its columns, features and sides, parsed from YAML
/// or JSON with errors naming the schema file and the key at fault (Docs/data.md has the format).
extension GenericLog {
    /// A column by header name or 0-based index.
    enum ColumnRef: Equatable {
        case name(String)
        case index(Int)

        func resolve(header: [String], file: String, schema: String, role: String) throws -> Int {
            switch self {
            case .index(let i): return i
            case .name(let n):
                guard !header.isEmpty else {
                    throw DataError(
                        file: schema,
                        "\(role) column '\(n)' is named, but \(file) has no header; use a 0-based column index or header: true"
                    )
                }
                guard let i = header.firstIndex(of: n) else {
                    throw DataError(
                        file: schema,
                        "\(role) column '\(n)' is not in \(file)'s header; expected one of \(header.joined(separator: ", "))"
                    )
                }
                return i
            }
        }
    }

    struct FeatureSchema {
        var name: String
        var column: ColumnRef
        var kind: FeatureKind
        var separator: Character
        var spec: FeatureSpec
        /// A derived column: the first capture of `pattern` (empty, i.e. missing, when it does not match)...
        var pattern: NSRegularExpression? = nil
        /// ...or the first `prefix` characters (a zip code's region).
        var prefix: Int? = nil

        /// The feature's text from its column's text.
        func derive(_ text: String) -> String {
            var text = text
            if let pattern {
                let range = NSRange(text.startIndex..., in: text)
                guard let match = pattern.firstMatch(in: text, range: range), match.numberOfRanges > 1,
                    let capture = Range(match.range(at: 1), in: text)
                else { return "" }
                text = String(text[capture])
            }
            if let prefix { text = String(text.prefix(prefix)) }
            return text
        }
    }

    struct SideSchema {
        var file: String?
        var delimiter: [UInt8]
        var header: Bool
        var quotes: Bool
        var id: ColumnRef
        var title: ColumnRef?
        var release: ColumnRef?
        var features: [FeatureSchema]
        var vectors: (file: String, name: String)?
        /// The schema's `date_format` (strptime-style), tried before the built-in forms.
        var dateFormat: String? = nil
    }

    struct LogSchema {
        var file: String
        var delimiter: [UInt8]
        var header: Bool
        var quotes: Bool
        var user: ColumnRef
        var item: ColumnRef
        var value: ColumnRef?
        var timestamp: ColumnRef?
        /// The declared range of values (e.g. 1 to 5 stars); values outside it are refused.
        var scale: ClosedRange<Double>?
        var dateFormat: String? = nil
    }

    struct Schema {
        var name: String?
        var feedback: FeedbackKind
        var interactions: LogSchema
        var users: SideSchema?
        var items: SideSchema?

        static func parse(_ file: TextFile) throws -> Schema {
            let text = String(decoding: file.bytes, as: UTF8.self)
            let object: Any?
            let looksJSON = file.name.lowercased().hasSuffix(".json") || text.drop { $0.isWhitespace }.first == "{"
            do {
                if looksJSON {
                    object = try JSONSerialization.jsonObject(with: Data(file.bytes))
                } else {
                    object = try SchemaYAML.load(text, file: file.name)
                }
            } catch let error as DataError {
                throw error
            } catch {
                throw DataError(
                    file: file.name, "expected a \(looksJSON ? "JSON" : "YAML") schema; the parser said: \(error)")
            }
            guard let root = object as? [String: Any] else {
                throw DataError(
                    file: file.name, "expected a mapping at the top level (name, feedback, interactions, users, items)")
            }
            let p = Parser(file: file.name)
            try p.allowOnly(
                root, ["name", "feedback", "threshold", "date_format", "interactions", "users", "items"],
                at: "the top level")
            let dateFormat = try p.string(root, "date_format", at: "the top level")
            if let dateFormat, !dateFormat.contains("%") {
                throw DataError(
                    file: file.name,
                    "the top level: 'date_format' must be a strptime-style format such as \"%d/%m/%Y\", found '\(dateFormat)'"
                )
            }

            var feedback = FeedbackKind.explicit
            switch try p.string(root, "feedback", at: "the top level") ?? "explicit" {
            case "explicit": feedback = .explicit
            case "implicit":
                let threshold = try p.number(root, "threshold", at: "the top level") ?? 1
                guard threshold.isFinite, Float(threshold).isFinite else {
                    throw DataError(
                        file: file.name, "the top level: expected a finite number for 'threshold', found \(threshold)")
                }
                feedback = .implicit(threshold: Float(threshold))
            case let other:
                throw DataError(file: file.name, "feedback '\(other)' is unknown; expected explicit or implicit")
            }
            guard let log = root["interactions"] as? [String: Any] else {
                throw DataError(file: file.name, "expected an 'interactions' mapping with file, user and item")
            }
            try p.allowOnly(
                log, ["file", "delimiter", "header", "quotes", "user", "item", "value", "timestamp", "scale"],
                at: "interactions")
            guard let logFile = try p.string(log, "file", at: "interactions") else {
                throw DataError(file: file.name, "interactions: expected 'file'")
            }
            let logDelimiter = try p.delimiter(log, at: "interactions", fileName: logFile)
            guard let user = try p.column(log, "user", at: "interactions"),
                let item = try p.column(log, "item", at: "interactions")
            else {
                throw DataError(
                    file: file.name,
                    "interactions: expected 'user' and 'item' columns (header names or 0-based indices)")
            }
            var scale: ClosedRange<Double>? = nil
            if let declared = log["scale"] {
                let bounds = (declared as? [Any])?.compactMap(p.asNumber) ?? []
                guard bounds.count == 2, bounds.allSatisfy(\.isFinite), bounds[0] < bounds[1] else {
                    throw DataError(
                        file: file.name,
                        "interactions: expected 'scale' to be [lowest, highest] finite numbers, lowest first, found \(declared)"
                    )
                }
                scale = bounds[0]...bounds[1]
            }
            let interactions = LogSchema(
                file: logFile, delimiter: logDelimiter, header: try p.bool(log, "header", at: "interactions") ?? true,
                quotes: try p.bool(log, "quotes", at: "interactions") ?? (logDelimiter == [0x2C]),
                user: user, item: item, value: try p.column(log, "value", at: "interactions"),
                timestamp: try p.column(log, "timestamp", at: "interactions"),
                scale: scale, dateFormat: dateFormat)
            var users = try root["users"].map { try p.side($0, at: "users") }
            var items = try root["items"].map { try p.side($0, at: "items") }
            users?.dateFormat = dateFormat
            items?.dateFormat = dateFormat
            return Schema(
                name: try p.string(root, "name", at: "the top level"), feedback: feedback, interactions: interactions,
                users: users, items: items)
        }
    }

    /// Typed access to the parsed schema, with errors that say where and what was expected.
    struct Parser {
        let file: String

        func allowOnly(_ map: [String: Any], _ keys: Set<String>, at place: String) throws {
            for key in map.keys.sorted() where !keys.contains(key) {
                throw DataError(
                    file: file,
                    "\(place): unknown key '\(key)'; expected one of \(keys.sorted().joined(separator: ", "))")
            }
        }

        func string(_ map: [String: Any], _ key: String, at place: String) throws -> String? {
            guard let v = map[key], !(v is NSNull) else { return nil }
            if let s = v as? String { return s }
            throw DataError(file: file, "\(place): expected text for '\(key)', found \(v)")
        }

        func number(_ map: [String: Any], _ key: String, at place: String) throws -> Double? {
            guard let v = map[key], !(v is NSNull) else { return nil }
            if let d = asNumber(v) { return d }
            throw DataError(file: file, "\(place): expected a number for '\(key)', found \(v)")
        }

        func asNumber(_ v: Any) -> Double? {
            if type(of: v) == Bool.self { return nil }
            if let i = v as? Int { return Double(i) }
            if let d = v as? Double { return d }
            if let n = v as? NSNumber { return n.doubleValue }
            if let s = v as? String { return Double(s) }
            return nil
        }

        func bool(_ map: [String: Any], _ key: String, at place: String) throws -> Bool? {
            guard let v = map[key], !(v is NSNull) else { return nil }
            if let b = v as? Bool { return b }
            if let s = v as? String, ["yes", "true", "no", "false"].contains(s.lowercased()) {
                return ["yes", "true"].contains(s.lowercased())
            }
            throw DataError(file: file, "\(place): expected yes/no for '\(key)', found \(v)")
        }

        func column(_ map: [String: Any], _ key: String, at place: String) throws -> GenericLog.ColumnRef? {
            guard let v = map[key], !(v is NSNull) else { return nil }
            if let s = v as? String { return .name(s) }
            if let d = asNumber(v), d >= 0, d == d.rounded(), d < 1_000_000 { return .index(Int(d)) }
            throw DataError(file: file, "\(place): expected a column name or 0-based index for '\(key)', found \(v)")
        }

        func delimiter(_ map: [String: Any], at place: String, fileName: String) throws -> [UInt8] {
            guard let d = try string(map, "delimiter", at: place) else {
                let lower = fileName.lowercased()
                return lower.hasSuffix(".tsv") || lower.hasSuffix(".tab")
                    ? [0x09] : lower.hasSuffix(".dat") ? [0x3A, 0x3A] : [0x2C]
            }
            switch d.lowercased() {
            case "tab", "\\t", "\t": return [0x09]
            case "comma": return [0x2C]
            case "semicolon": return [0x3B]
            case "pipe": return [0x7C]
            case "space": return [0x20]
            default:
                guard !d.isEmpty else { throw DataError(file: file, "\(place): the delimiter is empty") }
                return Array(d.utf8)
            }
        }

        func side(_ value: Any, at place: String) throws -> GenericLog.SideSchema {
            guard let map = value as? [String: Any] else {
                throw DataError(file: file, "\(place): expected a mapping with file, id and features")
            }
            try allowOnly(
                map, ["file", "delimiter", "header", "quotes", "id", "title", "release", "features", "vectors"],
                at: place)
            let fileName = try string(map, "file", at: place)
            let delimiter = try self.delimiter(map, at: place, fileName: fileName ?? "")
            var features: [GenericLog.FeatureSchema] = []
            if let list = map["features"] {
                guard let list = list as? [Any] else {
                    throw DataError(file: file, "\(place): expected a list of features")
                }
                for entry in list { features.append(try feature(entry, at: place)) }
            }
            var vectors: (file: String, name: String)? = nil
            if let v = map["vectors"] {
                guard let v = v as? [String: Any], let f = try string(v, "file", at: "\(place).vectors") else {
                    throw DataError(
                        file: file, "\(place).vectors: expected a mapping with 'file' (and optionally 'name')")
                }
                vectors = (f, try string(v, "name", at: "\(place).vectors") ?? "vector")
            }
            if fileName == nil && !features.isEmpty { throw DataError(file: file, "\(place): features need a 'file'") }
            return GenericLog.SideSchema(
                file: fileName, delimiter: delimiter, header: try bool(map, "header", at: place) ?? true,
                quotes: try bool(map, "quotes", at: place) ?? (delimiter == [0x2C]),
                id: try column(map, "id", at: place) ?? .index(0), title: try column(map, "title", at: place),
                release: try column(map, "release", at: place), features: features, vectors: vectors)
        }

        func feature(_ value: Any, at place: String) throws -> GenericLog.FeatureSchema {
            guard let map = value as? [String: Any] else {
                throw DataError(file: file, "\(place): expected each feature to be a mapping with name and type")
            }
            guard
                let name = try string(map, "name", at: "\(place) feature") ?? (try? string(map, "column", at: place))
                    ?? nil
            else {
                throw DataError(file: file, "\(place): a feature needs a 'name'")
            }
            let where_ = "\(place) feature '\(name)'"
            try allowOnly(
                map,
                ["name", "column", "type", "separator", "transform", "buckets", "granularity", "pattern", "prefix"],
                at: where_)
            var pattern: NSRegularExpression? = nil
            if let text = try string(map, "pattern", at: where_) {
                do { pattern = try NSRegularExpression(pattern: text) } catch {
                    throw DataError(file: file, "\(where_): 'pattern' is not a valid regular expression: \(text)")
                }
                guard pattern!.numberOfCaptureGroups >= 1 else {
                    throw DataError(
                        file: file,
                        "\(where_): 'pattern' needs a capture group, e.g. \"\\\\((\\\\d{4})\\\\)\" for the year in 'Heat (1995)'"
                    )
                }
            }
            var prefix: Int? = nil
            if let value = try number(map, "prefix", at: where_) {
                guard value >= 1, value <= 1000, value == value.rounded() else {
                    throw DataError(
                        file: file, "\(where_): 'prefix' must be a count of characters from 1 to 1000, found \(value)")
                }
                prefix = Int(value)
            }
            guard let type = try string(map, "type", at: where_) else {
                throw DataError(
                    file: file,
                    "feature '\(name)' has no type; expected one of \(GenericLog.featureTypes.joined(separator: ", "))")
            }
            let column = try self.column(map, "column", at: where_) ?? .name(name)
            let separatorText = try string(map, "separator", at: where_)
            var spec = FeatureSpec(kind: .categorical)
            var separator: Character = "|"
            switch type.lowercased() {
            case "categorical": spec.kind = .categorical
            case "text": spec.kind = .text
            case "multi-categorical", "multicategorical", "multi_categorical":
                spec.kind = .multiCategorical
                separator = separatorText?.first ?? "|"
            case "numeric":
                let transform = try string(map, "transform", at: where_)?.lowercased()
                let buckets = map["buckets"]
                switch transform {
                case nil where buckets == nil, "standardized", "standardised", "standardize":
                    spec.kind = .numericStandardized
                case nil, "bucketed", "buckets":
                    spec.kind = .numericBucketed
                    if let list = buckets as? [Any] {
                        let bounds = list.compactMap(asNumber)
                        guard bounds.count == list.count, !bounds.isEmpty,
                            zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 })
                        else {
                            throw DataError(
                                file: file,
                                "\(where_): expected 'buckets' to be increasing numbers (boundaries) or a bucket count")
                        }
                        spec.bucketBoundaries = bounds
                    } else if let b = buckets {
                        guard let count = asNumber(b), count >= 2, count <= 10_000 else {
                            throw DataError(
                                file: file,
                                "\(where_): expected 'buckets' to be a count of at least 2 or a list of boundaries, found \(b)"
                            )
                        }
                        spec.bucketCount = Int(count)
                    }
                case let other?:
                    throw DataError(
                        file: file, "\(where_): transform '\(other)' is unknown; expected standardized or bucketed")
                }
            case "date":
                spec.kind = .date
                switch try string(map, "granularity", at: where_)?.lowercased() ?? "year" {
                case "year": spec.dateGranularity = .year
                case "decade": spec.dateGranularity = .decade
                case let other:
                    throw DataError(file: file, "\(where_): granularity '\(other)' is unknown; expected year or decade")
                }
            case "dense":
                spec.kind = .dense
                separator = separatorText?.first ?? " "
            default:
                throw DataError(
                    file: file,
                    "feature '\(name)' has unknown type '\(type)'; expected one of \(GenericLog.featureTypes.joined(separator: ", "))"
                )
            }
            return GenericLog.FeatureSchema(
                name: name, column: column, kind: spec.kind, separator: separator, spec: spec,
                pattern: pattern, prefix: prefix)
        }
    }
}
