import Foundation
import Testing

@testable import MetaRecCore

@Suite struct FileLockTests {
    static func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "metarec-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func aSecondWriterOfTheSameFileFailsAtOnce() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("model.safetensors")
        let first = try FileLock(exclusiveFor: target)
        #expect { _ = try FileLock(exclusiveFor: target) } throws: { error in
            "\(error)".contains("another process is writing it")
        }
        #expect(FileManager.default.fileExists(atPath: first.lockPath))
        first.release()
        #expect(!FileManager.default.fileExists(atPath: first.lockPath), "a released lock leaves no file behind")
        let again = try FileLock(exclusiveFor: target)
        again.release()
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// A taker that opened the lock file just before its holder removed it holds a file no longer
    /// in the folder: that must not keep the next writer out, and the next writer's lock is real.
    @Test func aTakerHoldingARemovedLockFileDoesNotKeepTheNextWriterOut() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("model.safetensors")
        let first = try FileLock(exclusiveFor: target)
        let stale = open(first.lockPath, O_RDWR | O_CLOEXEC)  // a taker between its open and its flock
        #expect(stale >= 0)
        defer { close(stale) }
        first.release()
        #expect(flock(stale, LOCK_EX | LOCK_NB) == 0, "the removed file is free to lock")
        // Someone holding the removed file does not keep a new writer out, and the new writer's
        // lock is real: a third one fails.
        let second = try FileLock(exclusiveFor: target)
        #expect { _ = try FileLock(exclusiveFor: target) } throws: { error in
            "\(error)".contains("another process is writing it")
        }
        second.release()
    }

    @Test func aMissingFolderIsNamedBeforeAnyWork() {
        let target = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/model.safetensors")
        #expect { _ = try FileLock(exclusiveFor: target) } throws: { error in
            "\(error)".contains("does not exist")
        }
    }
}
