/// Model selection by validation score (lower is better): remembers the best epoch's score and
/// counts the epochs since, so a training loop keeps the best epoch and stops after `patience`
/// epochs without improvement. With no score yet (NaN) any epoch counts as the best.
struct EarlyStopping {
    let patience: Int
    private(set) var best: Double
    private(set) var epochsWithoutImprovement = 0

    init(patience: Int, initial: Double = .nan) {
        self.patience = patience
        self.best = initial
    }

    /// Records an epoch's score; true when it is the best so far.
    mutating func record(_ score: Double) -> Bool {
        if best.isNaN || score < best {
            best = score
            epochsWithoutImprovement = 0
            return true
        }
        epochsWithoutImprovement += 1
        return false
    }

    var shouldStop: Bool { epochsWithoutImprovement >= patience }

    /// The best score, if there is one.
    var bestScore: Double? { best.isNaN ? nil : best }
}
