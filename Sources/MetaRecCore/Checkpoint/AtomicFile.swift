import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Replaces a file atomically, so that a crash or a full disk during a save never leaves a
/// half-written checkpoint where a good one was.
enum AtomicFile {
    /// Writes `chunks` one after another to a new temporary file next to `url` (same directory,
    /// hence same file system, so rename(2) is atomic), fsyncs it, renames it over `url`, then
    /// fsyncs the directory so that the rename itself survives a crash (best effort). On any
    /// failure the temporary file is removed and the target is untouched.
    static func write(_ chunks: [[UInt8]], to url: URL) throws {
        let path = url.path
        func failure(_ step: String, _ code: Int32 = errno) -> CheckpointError {
            .writeFailed(path: path, reason: "\(step) failed: \(String(cString: strerror(code)))")
        }
        guard url.isFileURL else {
            throw CheckpointError.writeFailed(path: url.absoluteString, reason: "not a file URL")
        }
        let directory = url.deletingLastPathComponent().path

        var temporaryPath = ""
        var descriptor: Int32 = -1
        for _ in 0..<16 {
            temporaryPath =
                directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-"
                + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if descriptor >= 0 || errno != EEXIST { break }
        }
        guard descriptor >= 0 else { throw failure("creating a temporary file in \(directory)") }

        do {
            for chunk in chunks {
                try chunk.withUnsafeBytes { buffer in
                    guard let base = buffer.baseAddress else { return }
                    var written = 0
                    while written < buffer.count {
                        let result = Foundation.write(descriptor, base + written, buffer.count - written)
                        if result < 0 {
                            if errno == EINTR { continue }
                            throw failure("write")
                        }
                        written += result
                    }
                }
            }
            guard fsync(descriptor) == 0 else { throw failure("fsync") }
            let closed = close(descriptor)
            descriptor = -1
            guard closed == 0 else { throw failure("close") }
            guard rename(temporaryPath, path) == 0 else { throw failure("rename") }
        } catch {
            if descriptor >= 0 { close(descriptor) }
            unlink(temporaryPath)
            throw error
        }

        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}
