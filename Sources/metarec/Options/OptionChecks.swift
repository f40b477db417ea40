import ArgumentParser
import Foundation

/// Range checks shared by the commands' `validate()`, so that a bad number fails at parse time
/// with the option's name and its limits, not minutes into training.
enum OptionChecks {
    /// The largest learning rate accepted: far above any that trains, low enough to catch typos (1e6).
    static let maximumLearningRate: Float = 10
    static let maximumEmbeddingSize = 1024
    static let maximumHiddenSize = 4096
    static let maximumHiddenLayers = 8

    static func learningRate(_ value: Float, _ option: String) throws {
        guard value.isFinite, value > 0, value <= maximumLearningRate else {
            throw ValidationError("\(option) must be a finite number in (0, \(Int(maximumLearningRate))], got \(value)")
        }
    }

    static func integer(_ value: Int, _ option: String, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }

    /// A file the command will write at the end: its folder must exist and be writable now, and
    /// the path must not be a folder.
    static func outputFile(_ path: String?, _ option: String) throws {
        guard let path else { return }
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("\(option) \(path) is a folder; expected a file path")
        }
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(option) \(path): the folder \(folder) does not exist; create it first")
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw ValidationError("\(option) \(path): the folder \(folder) is not writable")
        }
    }
}
