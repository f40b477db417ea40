import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What standard error is connected to, and how to write to it: a progress bar and colour only
/// on a terminal, and colour never when `NO_COLOR` is set (https://no-color.org).
struct Terminal: Sendable {
    /// Standard error is a terminal (a person is watching), not a file or a pipe.
    let isInteractive: Bool
    let usesColour: Bool

    static let standardError: Terminal = {
        let interactive = isatty(STDERR_FILENO) == 1
        let noColour = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let dumb = ProcessInfo.processInfo.environment["TERM"] == "dumb"
        return Terminal(isInteractive: interactive, usesColour: interactive && !noColour && !dumb)
    }()

    enum Style: String {
        case bold = "1"
        case dim = "2"
        case red = "31"
        case green = "32"
        case yellow = "33"
    }

    func styled(_ text: String, _ style: Style) -> String {
        usesColour ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }

    func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// Standard error, for logs that must not mix with a command's results on standard output.
func log(_ message: String) {
    Terminal.standardError.write(message + "\n")
}

/// A duration as people read it: "0.4 s", "12 s", "3:05".
func clock(_ seconds: Double) -> String {
    if seconds < 10 { return String(format: "%.1f s", seconds) }
    if seconds < 60 { return String(format: "%.0f s", seconds) }
    let s = Int(seconds.rounded())
    return s >= 3600
        ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}
