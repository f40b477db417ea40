import ArgumentParser
import Foundation
import Logging
import MetaRecCore
import MetaRecData
import MetaRecModels
import MetaRecServer
import MetaRecStore

/// `metarec serve`: the HTTP service over a model bundle and a store. Without `--model`, trains
/// a small model on the built-in synthetic data once (cached beside the store) and serves it.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve recommendations over HTTP: users, items and feedback behind a JSON API.",
        discussion: """
            Writes need 'Authorization: Bearer <token>'. The admin token comes from --token-file or
            the METAREC_ADMIN_TOKEN environment variable (never the command line); without either, a
            random token is written beside the store and its path printed.

            Examples:
              metarec serve                       # synthetic data, trained once, then cached
              metarec train --data ../shared/data/ml-100k --out ml100k.safetensors
              metarec serve --model ml100k.safetensors --port 8080
            """)

    @Option(help: "A model bundle written by 'metarec train'; default: a synthetic model, trained once under --home.")
    var model: String?

    @Option(
        help: """
            Where to keep state: sqlite:PATH or a path (default: the model's path with .sqlite), or \
            postgres://user@host:port/database to share one store between processes (password from \
            PGPASSWORD or --store-password-file, never the URL).
            """)
    var store: String?

    @Option(help: "A file whose first line is the PostgreSQL password (default: PGPASSWORD).")
    var storePasswordFile: String?

    @Option(help: "Folder for the synthetic model and its store when --model is not given.")
    var home: String = "metarec-serve"

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port).")
    var port: Int = 8080

    @Option(help: "A file holding the admin token.")
    var tokenFile: String?

    @Option(help: "Adapt each user to their most recent N feedback rows.")
    var adaptationWindow: Int = 100

    @Flag(
        inversion: .prefixedNo,
        help: "Record served recommendations as impressions, for offline study (adaptation does not use them).")
    var recordImpressions = false

    @Option(help: "Seconds between looks at the store for other processes' changes and a newly published model.")
    var refreshInterval: Double = 1

    @Flag(help: "Reads need a token too.")
    var protectReads = false

    @Option(help: "Largest request body in bytes.")
    var maxBodyBytes: Int = 1 << 20

    @Option(help: "Most feedback rows per batch.")
    var maxBatch: Int = 1000

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard adaptationWindow > 0 else { throw ValidationError("--adaptation-window must be positive") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024") }
        guard maxBatch > 0 else { throw ValidationError("--max-batch must be positive") }
        guard refreshInterval.isFinite, (0...3600).contains(refreshInterval) else {
            throw ValidationError("--refresh-interval must be 0 to 3600 seconds")
        }
        if let store { _ = try StoreLocation.parse(store) }
    }

    func run() async throws {
        let modelPath = try model ?? syntheticModel()
        let modelBase =
            modelPath.hasSuffix(".safetensors") ? String(modelPath.dropLast(".safetensors".count)) : modelPath
        let location =
            try store.map {
                try StoreLocation.parse(
                    $0,
                    password: StoreLocation.password(
                        file: storePasswordFile, environment: ProcessInfo.processInfo.environment))
            } ?? .sqlite(path: modelBase + ".sqlite")
        // A generated admin token goes beside the SQLite file, or beside the model for PostgreSQL.
        let token = try adminToken(storePath: location.path ?? modelBase)

        var logger = Logger(label: "metarec.server")
        logger.logLevel = .info
        let modelURL = URL(fileURLWithPath: modelPath)
        let bundleBytes: Data
        do {
            bundleBytes = try Data(contentsOf: modelURL)
        } catch {
            throw ValidationError("--model \(modelPath): cannot be read: \(error.localizedDescription)")
        }
        let recommender = try Recommender(bundle: ModelBundle(bytes: bundleBytes, source: modelURL))
        var options = ServiceOptions()
        options.adaptationWindow = adaptationWindow
        options.recordImpressions = recordImpressions
        options.protectReads = protectReads
        options.maximumBodyBytes = maxBodyBytes
        options.maximumBatch = maxBatch
        options.refreshInterval = .milliseconds(Int((refreshInterval * 1000).rounded()))
        let service = try await RecommendationService(
            recommender: recommender, store: location.open(), options: options, bundleBytes: bundleBytes)
        let host = self.host
        try await RecommendationServer.run(
            service: service, host: host, port: port, adminToken: token.value, logger: logger
        ) { port in
            // Unbuffered, so the address shows at once also when stdout is a file or a pipe.
            let lines =
                "serving model \(service.recommender.bundle.version.prefix(12)) (\(service.recommender.itemCount) items) with store \(location)\n"
                + "admin token: \(token.source)\nopen http://\(host):\(port)/\n"
            FileHandle.standardOutput.write(Data(lines.utf8))
        }
    }

    /// The admin token and where it came from (never printed itself unless just generated into a file).
    func adminToken(storePath: String) throws -> (value: String, source: String) {
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8),
                !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            else {
                throw ValidationError("--token-file \(tokenFile): cannot be read, or is empty")
            }
            return (text.trimmingCharacters(in: .whitespacesAndNewlines), "from \(tokenFile)")
        }
        if let value = ProcessInfo.processInfo.environment["METAREC_ADMIN_TOKEN"], !value.isEmpty {
            return (value, "from METAREC_ADMIN_TOKEN")
        }
        let path = storePath + ".token"
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        {
            return (text.trimmingCharacters(in: .whitespacesAndNewlines), "in \(path)")
        }
        var generator = SystemRandomNumberGenerator()
        let value = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data((value + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw ValidationError(
                "\(path): cannot write the generated admin token; pass --token-file or set METAREC_ADMIN_TOKEN")
        }
        return (value, "generated in \(path)")
    }

    /// The library's fallback model (``BundleRecipe/serviceFallback(phases:note:)``), written
    /// under a file lock so that replicas started together train it once.
    static func trainFallback(to url: URL) throws {
        let lock = try FileLock(exclusiveFor: url)
        defer { lock.release() }
        try BundleRecipe.serviceFallback(phases: ProgressReporter(verbosity: .quiet), note: { log($0) })
            .write(to: url)
    }

    /// The synthetic model under --home, trained on first use.
    func syntheticModel() throws -> String {
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: home).appendingPathComponent("synthetic.safetensors").path
        if FileManager.default.fileExists(atPath: path),
            (try? ModelBundle(contentsOf: URL(fileURLWithPath: path))) != nil
        {
            return path
        }
        print("training a model on the built-in synthetic data once (cached in \(path))...")
        try ServeCommand.trainFallback(to: URL(fileURLWithPath: path))
        return path
    }
}
