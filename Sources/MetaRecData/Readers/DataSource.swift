import Foundation

/// Where a data set comes from, found from what a person typed: "synthetic", a MovieLens
/// folder (its release detected from the files it holds), a generic-log schema file, or a folder
/// holding `schema.yaml`. The command-line tool and the service both load data through this.
///
/// ```swift
/// let source = try DataSource.detect("../shared/data/ml-100k")
/// let dataset = try source.load(feedback: .explicit)
/// ```
public enum DataSource: Sendable, Equatable {
    /// The built-in synthetic data with planted structure.
    case synthetic(SyntheticSize)
    case movieLens(MovieLens.Format, directory: URL)
    case genericLog(schema: URL)

    /// The synthetic generator's knobs.
    public struct SyntheticSize: Sendable, Equatable {
        public var seed: UInt64 = 0
        public var users = 1000
        public var items = 800
        public var interactions = 60_000
        public init(seed: UInt64 = 0, users: Int = 1000, items: Int = 800, interactions: Int = 60_000) {
            self.seed = seed
            self.users = users
            self.items = items
            self.interactions = interactions
        }
    }

    /// The formats a person can name, as `--format` takes them.
    public static let formatNames = MovieLens.Format.allCases.map(\.rawValue) + ["generic"]

    /// Finds the source `path` names.
    /// - Parameters:
    ///   - format: a name from `formatNames`, or nil to detect it.
    ///   - schema: a schema file, which wins over `path` when given.
    ///   - synthetic: the size used when `path` is "synthetic".
    public static func detect(
        _ path: String, format: String? = nil, schema: String? = nil,
        synthetic: SyntheticSize = SyntheticSize()
    ) throws -> DataSource {
        if let format, !formatNames.contains(format) {
            throw DataError(file: path, "unknown format '\(format)'; expected \(formatNames.joined(separator: ", "))")
        }
        if let schema { return .genericLog(schema: URL(fileURLWithPath: schema)) }
        if path == "synthetic" && format == nil { return .synthetic(synthetic) }
        let url = URL(fileURLWithPath: path)
        if format == "generic" || isSchemaPath(path) {
            guard isSchemaPath(path) else {
                throw DataError(file: path, "the generic format needs a schema file (.yaml, .yml or .json)")
            }
            return .genericLog(schema: url)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DataError(file: path, "not found; expected 'synthetic', a MovieLens directory or a schema file")
        }
        guard isDirectory.boolValue else {
            throw DataError(
                file: path, "is a file; expected a MovieLens directory or a schema file ending in .yaml, .yml or .json")
        }
        if let detected = format.flatMap(MovieLens.Format.init(rawValue:)) ?? MovieLens.detectFormat(directory: url) {
            return .movieLens(detected, directory: url)
        }
        for name in ["schema.yaml", "schema.yml", "schema.json"]
        where FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) {
            return .genericLog(schema: url.appendingPathComponent(name))
        }
        throw DataError(
            file: path,
            "cannot tell the format: expected u.data (100K), ratings.dat (1M/10M), ratings.csv (latest) or schema.yaml; or pass --format"
        )
    }

    /// Reads the data set.
    /// - Parameter feedback: ratings as they are, or clicks above a threshold; nil keeps what a
    ///   schema declares (and means explicit ratings elsewhere).
    public func load(feedback: FeedbackKind? = nil, options: ImportOptions = ImportOptions()) throws -> Dataset {
        switch self {
        case .synthetic(let size):
            return BuiltInData.synthetic(
                seed: size.seed, users: size.users, items: size.items,
                targetInteractions: size.interactions, feedback: feedback ?? .explicit
            ).dataset
        case .movieLens(let format, let directory):
            return try MovieLens.load(format, directory: directory, feedback: feedback ?? .explicit, options: options)
        case .genericLog(let schema):
            return try GenericLog.load(schema: schema, options: options, feedbackOverride: feedback)
        }
    }

    private static func isSchemaPath(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") || lower.hasSuffix(".json")
    }
}
