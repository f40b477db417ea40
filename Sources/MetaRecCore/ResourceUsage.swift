import Foundation

/// What the process has used, for the figures benchmarks and `metarec train` report.
public enum ResourceUsage {
    /// Peak resident memory so far (VmHWM from /proc/self/status), in bytes; nil where that
    /// file does not exist (not Linux).
    public static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
        }
        return nil
    }
}
