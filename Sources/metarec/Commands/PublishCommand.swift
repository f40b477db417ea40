import ArgumentParser
import Foundation
import MetaRecModels
import MetaRecStore

/// `metarec publish`: registers a model bundle in the store, after which every `metarec serve`
/// process on that store moves to it without a restart. A rollback is publishing the earlier
/// version again, by its file or by its id.
struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Publish a model bundle to a store: every serving process moves to it without a restart.",
        discussion: """
            The version id is the SHA-256 of the bundle's bytes. A bundle that would serve nonsense
            (weights that are not finite, impossible settings) is refused before anything is stored.

            Examples:
              metarec publish ml100k-v2.safetensors --store sqlite:ml100k.sqlite
              metarec publish --list --store sqlite:ml100k.sqlite
              metarec publish --version 3f2a9c --store sqlite:ml100k.sqlite     # roll back
            """)

    @Argument(help: "The bundle to publish (written by 'metarec train').")
    var model: String?

    @Option(help: "The store the service runs on: sqlite:PATH, or postgres://user@host:port/database.")
    var store: String

    @Option(help: "A file whose first line is the PostgreSQL password (default: PGPASSWORD).")
    var storePasswordFile: String?

    @Option(help: "Publish a version already in the store again (its id or a unique prefix): a rollback.")
    var version: String?

    @Option(help: "A note kept with this publication.")
    var note: String = ""

    @Flag(help: "List the publications, newest first, and publish nothing.")
    var list = false

    func validate() throws {
        _ = try StoreLocation.parse(store)
        let actions = [model != nil, version != nil, list].filter { $0 }.count
        guard actions == 1 else {
            throw ValidationError("give one of: a bundle to publish, --version ID to publish again, or --list")
        }
    }

    func run() async throws {
        let store = try await StoreLocation.open(self.store, passwordFile: storePasswordFile)
        do {
            try await perform(on: store)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }

    private func perform(on store: any RecommendationStore) async throws {
        if list {
            for entry in try await store.modelHistory(limit: 100) {
                print(Self.describe(entry))
            }
            return
        }
        let bytes: Data
        let source: URL
        if let model {
            source = URL(fileURLWithPath: model)
            do {
                bytes = try Data(contentsOf: source)
            } catch {
                throw ValidationError("\(model): cannot be read: \(error.localizedDescription)")
            }
        } else {
            let prefix = (version ?? "").lowercased()
            let matches = Set(try await store.modelHistory(limit: 10_000).map(\.id).filter { $0.hasPrefix(prefix) })
            guard matches.count == 1, let id = matches.first, !prefix.isEmpty else {
                throw ValidationError(
                    matches.isEmpty
                        ? "--version \(prefix): no published version starts with it (metarec publish --list)"
                        : "--version \(prefix): \(matches.count) versions start with it; give more digits")
            }
            guard let stored = try await store.modelBytes(id: id) else {
                throw ValidationError("--version \(prefix): the store has no bytes for \(id)")
            }
            bytes = stored
            source = URL(fileURLWithPath: "store:model/\(id.prefix(12))")
        }
        let bundle = try ModelBundle(bytes: bytes, source: source)  // refused here if unfit to serve
        let published = try await store.publishModel(bytes, note: note.isEmpty ? source.lastPathComponent : note)
        print("published \(Self.describe(published))")
        print("\(bundle.archive.header.kind.rawValue) model, \(bundle.description.catalogue.ids.count) items")
    }

    static func describe(_ entry: PublishedModel) -> String {
        let date = ISO8601DateFormatter().string(from: entry.publishedAt)
        return "\(entry.id.prefix(12))  #\(entry.sequence)  \(date)  \(entry.byteCount) bytes  \(entry.note)"
    }
}
