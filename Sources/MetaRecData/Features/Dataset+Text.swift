extension Dataset {
    /// The same data set without its `text` feature columns: the "without text content" rows
    /// of the results tables.
    public func withoutTextFeatures() -> Dataset {
        var copy = self
        copy.rawUserFeatures.columns.removeAll { $0.spec.kind == .text }
        copy.rawItemFeatures.columns.removeAll { $0.spec.kind == .text }
        return copy
    }
}
