import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGINT (Ctrl-C): training stops after the current step and keeps its best state.
nonisolated(unsafe) private var interruptionRequested: sig_atomic_t = 0

/// Ctrl-C for a whole command: the first press asks the trainers to stop cleanly (the last good
/// checkpoint stays); a second press ends the process at once. A command that was interrupted
/// exits with 130, as shells expect of SIGINT.
enum Interruption {
    static func install() {
        signal(SIGINT) { _ in
            if interruptionRequested != 0 { _exit(130) }
            interruptionRequested = 1
        }
    }

    static var requested: Bool { interruptionRequested != 0 }

    /// Thrown by a command that stopped because of Ctrl-C, after saving what it could.
    struct Stopped: Error, CustomStringConvertible {
        var description: String
    }

    /// Stops the command when Ctrl-C was pressed.
    static func check(_ what: String) throws {
        if requested { throw Stopped(description: "interrupted during \(what)") }
    }
}
