@testable import metarec

/// The message a command line is refused with at parse time, or nil when it parses.
func parseError(_ arguments: [String]) -> String? {
    do {
        _ = try MetaRecCommand.parseAsRoot(arguments)
        return nil
    } catch {
        return MetaRecCommand.message(for: error)
    }
}
