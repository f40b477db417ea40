import Foundation
import MetaRecModels

/// The live learner's running figures: the prequential stream scores (every task since the
/// learner started, and the most recent ones), its pace, and what became of its candidates.
/// GAUC and MAE are computed as `evaluate --streaming` computes them (``StreamPoint``): per-user
/// AUC with ratings of 4 and above (clicks of 1) relevant, averaged over users with both classes,
/// so the live figure and the offline one can be compared.
public struct LearnerFigures: Sendable {
    /// Tasks scored: learned from, and held back (predicted only).
    public private(set) var usersLearned = 0
    public private(set) var usersHeldBack = 0
    /// Seconds spent reading and learning (polls waiting for new feedback not counted): what
    /// bounds how fast the learner can go, whatever the stream's own pace.
    public private(set) var busySeconds = 0.0
    public private(set) var published = 0
    public private(set) var refused: [String: Int] = [:]
    private var errorSum = 0.0
    private var errorCount = 0
    private var aucSum = 0.0
    private var aucCount = 0
    private var recent: [(error: Double, auc: Double?)] = []
    private var updateSeconds: [Double] = []
    private var allUpdateSeconds: [Double] = []
    let recentWindow: Int
    let positiveAt: Float

    public init(objective: Objective, recentWindow: Int = 100) {
        self.recentWindow = max(1, recentWindow)
        positiveAt = objective == .click ? 0.5 : 4
    }

    /// One task's prequential predictions against its query targets; `updateSeconds` is nil for a
    /// held-back task (not learned from).
    mutating func record(predictions: [Float], targets: [Float], updateSeconds: Double?) {
        let error = Metrics.meanAbsoluteError(predictions, targets)
        let auc = Metrics.areaUnderCurve(predictions, targets.map { $0 >= positiveAt ? 1 : 0 })
        errorSum += error
        errorCount += 1
        if let auc {
            aucSum += auc
            aucCount += 1
        }
        recent.append((error, auc))
        if recent.count > recentWindow { recent.removeFirst(recent.count - recentWindow) }
        if let updateSeconds {
            usersLearned += 1
            self.updateSeconds.append(updateSeconds)
            allUpdateSeconds.append(updateSeconds)
        } else {
            usersHeldBack += 1
        }
    }

    mutating func addBusy(seconds: Double) { busySeconds += seconds }

    mutating func recordPublished() { published += 1 }

    mutating func recordRefused(label: String) { refused[label, default: 0] += 1 }

    public var users: Int { usersLearned + usersHeldBack }
    public var usersPerSecond: Double? { usersPerSecond(busyAlso: 0) }
    /// With `seconds` of busy time not yet added (a read still in progress).
    func usersPerSecond(busyAlso seconds: Double) -> Double? {
        let busy = busySeconds + max(0, seconds)
        return busy > 0 && users > 0 ? Double(users) / busy : nil
    }
    public var streamMAE: Double? { errorCount == 0 ? nil : errorSum / Double(errorCount) }
    public var streamGAUC: Double? { aucCount == 0 ? nil : aucSum / Double(aucCount) }
    public var recentMAE: Double? { recent.isEmpty ? nil : recent.reduce(0) { $0 + $1.error } / Double(recent.count) }
    public var recentGAUC: Double? {
        let aucs = recent.compactMap(\.auc)
        return aucs.isEmpty ? nil : aucs.reduce(0, +) / Double(aucs.count)
    }
    /// Median seconds of one meta-update since the last check (``takeUpdateSeconds()``).
    var pendingUpdateSeconds: Double? { Self.median(updateSeconds) }
    /// Median seconds of one meta-update since the learner started.
    public var metaUpdateSeconds: Double? { Self.median(allUpdateSeconds) }

    /// Starts the next check's window of meta-update times.
    mutating func clearUpdateSeconds() { updateSeconds = [] }

    static func median(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.sorted()[values.count / 2] }

    /// One line for the end of a run.
    public var summary: String {
        func format(_ value: Double?, _ digits: Int = 4) -> String {
            value.map { String(format: "%.\(digits)f", $0) } ?? "n/a"
        }
        let refusals = refused.values.reduce(0, +)
        return
            "learned \(usersLearned) users (\(usersHeldBack) held back) at \(format(usersPerSecond, 1)) users/s; one meta-update \(format(metaUpdateSeconds.map { $0 * 1e3 }, 2)) ms (median); prequential stream GAUC \(format(streamGAUC)), MAE \(format(streamMAE)) over \(users) users; \(published) published, \(refusals) refused"
    }
}
