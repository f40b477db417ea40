import Foundation
import MetaRecData

/// A fresh temporary directory holding the given files (name → bytes), removed by the caller.
public func makeDirectory(_ files: [String: [UInt8]]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metarec-data-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for (name, bytes) in files {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }
    return dir
}

public func text(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The error a throwing call raised, as a DataError (nil when it did not throw one).
public func dataError(_ body: () throws -> Void) -> DataError? {
    do {
        try body()
        return nil
    } catch let e as DataError { return e } catch { return nil }
}

/// Small, valid ML-100K files; tests override single files to make them bad.
public func ml100KFiles() -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    files["u.data"] = text("1\t10\t4\t100\n2\t10\t3\t200\n1\t2\t5\t50\n10\t2\t1\t70\n1\t10\t2\t300\n")
    files["u.user"] = text("1|24|M|technician|85711\n2|53|F|other|94043\n10|17|M|writer|T8H1N\n")
    files["u.genre"] = text("unknown|0\nAction|1\nComedy|2\n\n")
    files["u.occupation"] = text("technician\nother\nwriter\n")
    var item = text("2|Les Mis")
    item.append(0xE9)  // é in ISO-8859-1
    item += text("rables (1995)|01-Jan-1995||http://x|0|1|1\n10|Toy Story (1995)|01-Feb-1996||http://y|0|0|1\n")
    files["u.item"] = item
    return files
}
