import ArgumentParser
import Foundation
import MetaRecEvaluation

/// `metarec report`: several split seeds' JSON reports merged into mean and spread, as Markdown
/// and as one self-contained HTML file (Docs/protocol.md reports seeds 0, 1 and 2).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Merge JSON reports of several split seeds into mean and spread, as Markdown and HTML.",
        discussion: """
            Each file is one seed's report, written by 'metarec evaluate --json' or 'metarec demo --json'.

            Example:
              for seed in 0 1 2; do metarec evaluate --data ml-100k --seed $seed --json seed$seed.json; done
              metarec report seed0.json seed1.json seed2.json --html report.html
            """)

    @Argument(help: "JSON reports, one per split seed, of one data set.")
    var files: [String]

    @Option(help: "Write the merged report as one self-contained HTML file with its plots.")
    var html: String?

    @Option(help: "Add the scale curves 'metarec-benchmark scale --json FILE' wrote to the HTML report.")
    var scale: String?

    @Option(help: "Write the merged Markdown tables to this file as well as to standard output.")
    var markdown: String?

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one JSON report") }
        var bundles: [ReportBundle] = []
        for file in files {
            do { bundles.append(try ReportBundle(contentsOf: URL(fileURLWithPath: file))) } catch {
                throw ValidationError(error.description)
            }
        }
        let summary: SeedSummary
        do { summary = try SeedSummary(bundles) } catch {
            throw ValidationError((error.report.map { "\(files[$0 - 1]): " } ?? "") + error.description)
        }
        let text = summary.markdown()
        print(text)
        if let markdown { try text.write(toFile: markdown, atomically: true, encoding: .utf8) }
        var report = HTMLReport(summary)
        if let scale {
            do { report.scaleCurves = try ScaleCurves(contentsOf: URL(fileURLWithPath: scale)) } catch {
                throw ValidationError("\(scale): not a file 'metarec-benchmark scale --json' wrote (\(error))")
            }
        }
        if let html { try report.render().write(toFile: html, atomically: true, encoding: .utf8) }
    }
}
