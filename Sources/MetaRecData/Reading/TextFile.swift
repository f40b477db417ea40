import Foundation

// The big files (1M+ lines) are read whole and parsed in place: no String per line and no
// Foundation scanning, which is what keeps reading 1M ratings well under a second.

/// A whole input file in memory.
struct TextFile {
    let name: String
    let path: String
    let bytes: [UInt8]

    /// Reads `url`; a missing or unreadable file is a `DataError` naming it.
    static func read(_ url: URL, label: String? = nil) throws -> TextFile {
        let path = url.path
        let name = label ?? url.lastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(file: name, "file not found (expected at \(path))")
        }
        if isDirectory.boolValue { throw DataError(file: name, "is a directory, expected a file (\(path))") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataError(file: name, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataError(file: name, "cannot stat \(path)") }
        let size = Int(info.st_size)
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let n = Foundation.read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failure != 0 { throw DataError(file: name, "cannot read \(path): \(String(cString: strerror(failure)))") }
        return TextFile(name: name, path: path, bytes: bytes)
    }

    var checksum: String { Checksum.sha256(bytes) }
}
