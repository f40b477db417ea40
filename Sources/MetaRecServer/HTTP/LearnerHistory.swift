import Foundation
import MetaRecStore
import Prometheus

/// The online learner's history for the dashboard (`GET /v1/admin/learner`): the published
/// versions and the learner's reports, both read from the store, so every replica shows the same.
struct LearnerHistoryView: Codable, Sendable {
    struct Version: Codable, Sendable {
        var id: String
        var sequence: Int64
        var publishedAt: Date
        var note: String
        var byteCount: Int
    }
    /// Newest first, as the store lists them; the first is the version that answers.
    var versions: [Version]
    /// Oldest first: the order a plot over the stream reads them in.
    var reports: [LearnerReport]

    static func read(from store: any RecommendationStore, limit: Int) async throws -> LearnerHistoryView {
        let versions = try await store.modelHistory(limit: limit).map {
            Version(
                id: $0.id, sequence: $0.sequence, publishedAt: $0.publishedAt, note: $0.note, byteCount: $0.byteCount)
        }
        return LearnerHistoryView(versions: versions, reports: try await store.learnerReports(limit: limit).reversed())
    }
}

extension ServerMetrics {
    /// Sets the learner's gauges from its latest report in the store. The learner is another
    /// process; its figures live in the store, so every replica's `/metrics` gives the same
    /// values, and they survive the learner's restarts (the report's timestamp tells their age).
    func record(learner report: LearnerReport) {
        func gauge(_ name: String, _ help: String, _ value: Double?, _ labels: [(String, String)] = []) {
            guard let value, value.isFinite else { return }
            registry.makeGauge(name: name, labels: labels, help: help).set(value)
        }
        gauge(
            "metarec_learner_report_timestamp_seconds", "When the learner's latest report was recorded.",
            report.recordedAt.timeIntervalSince1970)
        gauge(
            "metarec_learner_through_sequence", "The feedback sequence the learner has read through.",
            Double(report.through))
        gauge(
            "metarec_learner_users_learned", "Users learned from since the learner started.",
            Double(report.usersLearned))
        gauge(
            "metarec_learner_users_held_back", "Users held back (scored, not learned from) since the learner started.",
            Double(report.usersHeldBack))
        gauge(
            "metarec_learner_users_per_second", "Users' tasks per second of the learner's busy time.",
            report.usersPerSecond)
        let gauc = "Prequential stream GAUC (mean per-user AUC, each user predicted before being learned from)."
        gauge("metarec_learner_stream_gauc", gauc, report.streamGAUC, [("window", "cumulative")])
        gauge("metarec_learner_stream_gauc", gauc, report.recentGAUC, [("window", "recent")])
        let mae = "Prequential stream mean absolute error."
        gauge("metarec_learner_stream_mae", mae, report.streamMAE, [("window", "cumulative")])
        gauge("metarec_learner_stream_mae", mae, report.recentMAE, [("window", "recent")])
        let heldOut = "Score on held-back users at the last check, lower is better (MAE, or 1 - GAUC for clicks)."
        gauge("metarec_learner_held_back_score", heldOut, report.candidateHeldOut, [("version", "candidate")])
        gauge("metarec_learner_held_back_score", heldOut, report.servingHeldOut, [("version", "serving")])
        let replay =
            "Score on replayed earlier users at the last check, lower is better (the check against forgetting)."
        gauge("metarec_learner_replay_score", replay, report.candidateReplay, [("version", "candidate")])
        gauge("metarec_learner_replay_score", replay, report.servingReplay, [("version", "serving")])
        gauge(
            "metarec_learner_meta_update_seconds", "Median seconds of one online meta-update since the previous check.",
            report.metaUpdateSeconds)
        gauge(
            "metarec_learner_versions_published", "Versions the learner published since it started.",
            Double(report.published))
        for (reason, count) in report.refused.sorted(by: { $0.key < $1.key }) {
            gauge(
                "metarec_learner_versions_refused",
                "Candidates the learner did not publish since it started, by reason.",
                Double(count), [("reason", reason)])
        }
    }
}
