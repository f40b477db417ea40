import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive advisory lock on a file that is about to be written (`flock(2)` on a `.lock`
/// file beside it), so that two processes writing the same model fail fast instead of both
/// reporting success with the last writer winning. The lock is released on `release()` or when
/// the process ends, however it ends; `release()` also removes the `.lock` file, so a finished
/// run leaves only what it wrote.
///
/// Removing a lock file races with a process that opened it just before: that process would lock
/// a file no longer in the folder while a third creates and locks a new one. So a taker checks,
/// once it holds the lock, that the path still names the file it locked, and starts again if not.
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
        descriptor = -1
        while true {
            let opened = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard opened >= 0 else {
                throw FileLockError(
                    path: url.path, reason: "cannot create \(lockPath): \(String(cString: strerror(errno)))")
            }
            guard flock(opened, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                close(opened)
                throw FileLockError(
                    path: url.path,
                    reason: code == EWOULDBLOCK
                        ? "another process is writing it (it holds \(lockPath)); wait for it or choose another output"
                        : "cannot lock \(lockPath): \(String(cString: strerror(code)))")
            }
            var held = stat()
            var named = stat()
            if fstat(opened, &held) == 0, stat(lockPath, &named) == 0, held.st_ino == named.st_ino,
                held.st_dev == named.st_dev
            {
                descriptor = opened
                return
            }
            close(opened)  // the holder before us removed it: take the lock file that is there now
        }
    }

    public func release() {
        guard descriptor >= 0 else { return }
        unlink(lockPath)  // while still held, so no one can lock the removed file and think it current
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
