import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive advisory lock on a file that is about to be written (`flock(2)` on a `.lock`
/// file beside it), so that two processes writing the same model fail fast instead of both
/// reporting success with the last writer winning. The lock is released on `release()` or when
/// the process ends, however it ends.
public final class FileLock: @unchecked Sendable {
    public let lockPath: String
    private var descriptor: Int32

    /// Takes the lock for `url`, or throws at once when another process holds it.
    public init(exclusiveFor url: URL) throws {
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileLockError(path: url.path, reason: "its folder \(directory) does not exist; create it first")
        }
        lockPath = directory + "/." + url.lastPathComponent + ".lock"
        descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FileLockError(
                path: url.path, reason: "cannot create \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            descriptor = -1
            throw FileLockError(
                path: url.path,
                reason: code == EWOULDBLOCK
                    ? "another process is writing it (it holds \(lockPath)); wait for it or choose another output"
                    : "cannot lock \(lockPath): \(String(cString: strerror(code)))")
        }
    }

    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

public struct FileLockError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
