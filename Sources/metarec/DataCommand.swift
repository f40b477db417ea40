import ArgumentParser

/// `metarec data`: placeholder until the data layer lands.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "Inspect and split data sets.")
}
