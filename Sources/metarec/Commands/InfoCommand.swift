import ArgumentParser
import Foundation
import MetaRecCore

/// `metarec info`: version, kernel backend, threads — what to check first when a run is slow.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print the version and the numeric backend.")

    func run() throws {
        for (label, value) in Self.lines() {
            print("\(label.padding(toLength: Self.labelWidth, withPad: " ", startingAt: 0)) \(value)")
        }
    }

    private static let labelWidth = 18

    /// The report as label/value pairs, kept apart from printing so it reads as a table.
    static func lines() -> [(String, String)] {
        var lines: [(String, String)] = [("metarec", MetaRecVersion.string)]
        var backend = Kernels.backend.rawValue
        if Kernels.backend == .portable && Kernels.isOpenBLASAvailable {
            backend += " (OpenBLAS found, METAREC_KERNELS=portable)"
        }
        lines.append(("kernel backend", backend))
        if Kernels.isOpenBLASAvailable {
            lines.append(("OpenBLAS", "available"))
            lines.append(("OpenBLAS config", Kernels.openBLASConfiguration ?? "unknown (no openblas_get_config)"))
            lines.append(("OpenBLAS core", Kernels.openBLASCoreSummary ?? "unknown"))
        } else {
            lines.append(("OpenBLAS", "not found (install libopenblas0 for the fast kernels)"))
        }
        let threads = Kernels.backend == .openBLAS ? "\(Kernels.threadCount)" : "n/a (portable backend in use)"
        lines.append(("OpenBLAS threads", threads))
        lines.append(("active processors", "\(ProcessInfo.processInfo.activeProcessorCount)"))
        return lines
    }
}
