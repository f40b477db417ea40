import Foundation

/// An error in the input data, naming the file, the line (when there is one) and what was
/// expected, so a user can fix the file without reading our code.
public struct DataError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file's name (last path component), or a label such as "schema" or "split".
    public var file: String
    /// 1-based line number, or nil when the problem is not on one line.
    public var line: Int?
    public var message: String

    public init(file: String, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file) line \(line): \(message)" }
        return "\(file): \(message)"
    }
}

extension DataError: LocalizedError {
    public var errorDescription: String? { description }
}

/// How readers treat bad input.
public struct ImportOptions: Sendable, Equatable {
    /// When true a malformed line is skipped and counted (`Dataset.skippedLines`) instead of
    /// stopping the read with a `DataError`.
    public var skipBadLines: Bool
    /// How many skipped-line messages are kept in `Dataset.skipReport`.
    public var maximumReportedLines: Int

    public init(skipBadLines: Bool = false, maximumReportedLines: Int = 20) {
        self.skipBadLines = skipBadLines
        self.maximumReportedLines = maximumReportedLines
    }
}

/// Collects skipped lines when `skipBadLines` is on; rethrows otherwise.
struct BadLineHandler {
    let options: ImportOptions
    var skipped = 0
    var report: [String] = []

    init(_ options: ImportOptions) { self.options = options }

    mutating func handle(_ error: DataError) throws {
        guard options.skipBadLines else { throw error }
        skipped += 1
        if report.count < options.maximumReportedLines { report.append(error.description) }
    }
}
