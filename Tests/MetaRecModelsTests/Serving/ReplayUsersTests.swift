import Foundation
import MetaRecCore
import MetaRecData
import MetaRecTestSupport
import Testing

@testable import MetaRecModels

/// The training users a meta-learner's bundle keeps for the live learner's replay.
struct ReplayUsersTests {
    let experiment = ServingFixture.experiment

    @Test func aMetaLearnersBundleKeepsEvenlySpacedTrainingUsersAndReadsThemBack() throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        let trained = try ModelBundle(contentsOf: url)
        let archive = trained.archive
        let warm = experiment.split.tasks(.warm)
        #expect(warm.count > 5)
        let bundle = ModelBundle(archive: archive, experiment: experiment, replayUsers: 5)
        let kept = try #require(bundle.description.replayUsers?.tasks)
        #expect(kept.count == 5)
        for (index, task) in kept.enumerated() {
            let source = warm[index * warm.count / 5]
            let support = Array(source.support.prefix(ModelBundle.ReplayUsers.supportRows))
            #expect(task.features == experiment.dataset.rawUserFeatures.values(of: Int(source.user)))
            #expect(task.items == (support + source.query).map(\.item))
            #expect(task.values == (support + source.query).map(\.value))
            #expect(task.supportCount == support.count)
        }
        let file = ServingFixture.temporaryDirectory().appendingPathComponent("replay.safetensors")
        try bundle.write(to: file)
        #expect(try ModelBundle(contentsOf: file).description.replayUsers == bundle.description.replayUsers)

        // None asked for, or a kind that cannot learn online: none kept.
        #expect(ModelBundle(archive: archive, experiment: experiment, replayUsers: 0).description.replayUsers == nil)
        let covariance = try ModelBundle(contentsOf: ServingFixture.covarianceBundle().1)
        #expect(covariance.description.replayUsers == nil)
    }

    @Test func aReplayUserOutsideTheCatalogueIsRefusedWithItsIndex() throws {
        let (_, _, url) = try ServingFixture.metaLearnerBundle()
        var bundle = try ModelBundle(contentsOf: url)
        var replay = try #require(bundle.description.replayUsers)
        replay.tasks[1].items[0] = Int32(bundle.description.catalogue.ids.count)
        bundle.description.replayUsers = replay
        let bytes = try bundle.serialized()
        #expect { _ = try ModelBundle(bytes: bytes, source: URL(fileURLWithPath: "tampered")) } throws: { error in
            "\(error)".contains("replay user 1 has rows outside the catalogue")
        }
    }
}
