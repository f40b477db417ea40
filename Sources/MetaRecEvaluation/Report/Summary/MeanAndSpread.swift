import Foundation

/// The mean and sample standard deviation of one figure over split seeds, as the protocol
/// reports figures (Docs/protocol.md): non-finite values (a metric that was undefined for a
/// seed) are left out and counted by `count`.
public struct MeanAndSpread: Sendable, Codable, Equatable {
    public var mean: Double
    /// Sample standard deviation (n − 1); nil with fewer than two finite values.
    public var standardDeviation: Double?
    /// The finite values the figure summarises.
    public var count: Int

    public init(mean: Double, standardDeviation: Double?, count: Int) {
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.count = count
    }

    /// Nil when no value is finite.
    public init?<Values: Sequence>(_ values: Values) where Values.Element == Double? {
        let finite = values.compactMap { $0 }.filter(\.isFinite)
        guard !finite.isEmpty else { return nil }
        let mean = finite.reduce(0, +) / Double(finite.count)
        self.mean = mean
        self.count = finite.count
        if finite.count > 1 {
            let squares = finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            standardDeviation = (squares / Double(finite.count - 1)).squareRoot()
        } else {
            standardDeviation = nil
        }
    }

    public init?<Values: Sequence>(_ values: Values) where Values.Element == Double {
        self.init(values.map { Optional($0) })
    }

    /// "0.8123 ± 0.0040", or the mean alone for a single seed.
    public func formatted(digits: Int = 4) -> String {
        let mean = String(format: "%.\(digits)f", self.mean)
        guard let standardDeviation else { return mean }
        return mean + " ± " + String(format: "%.\(digits)f", standardDeviation)
    }
}

extension Optional where Wrapped == MeanAndSpread {
    func formatted(digits: Int = 4) -> String { self?.formatted(digits: digits) ?? "n/a" }
}
