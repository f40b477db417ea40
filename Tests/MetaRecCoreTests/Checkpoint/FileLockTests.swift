import Foundation
import Testing

@testable import MetaRecCore

@Suite struct FileLockTests {
    @Test func aSecondWriterOfTheSameFileFailsAtOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "metarec-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("model.safetensors")
        let first = try FileLock(exclusiveFor: target)
        #expect { _ = try FileLock(exclusiveFor: target) } throws: { error in
            "\(error)".contains("another process is writing it")
        }
        first.release()
        let again = try FileLock(exclusiveFor: target)
        again.release()
    }

    @Test func aMissingFolderIsNamedBeforeAnyWork() {
        let target = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/model.safetensors")
        #expect { _ = try FileLock(exclusiveFor: target) } throws: { error in
            "\(error)".contains("does not exist")
        }
    }
}
