import Foundation
import Hummingbird
import Logging
import MetaRecStore
import NIOCore
import ServiceLifecycle

/// The HTTP service: Hummingbird 2 routes over a ``RecommendationService``, run in a
/// swift-service-lifecycle group so that SIGTERM or SIGINT first stops the server (in-flight
/// requests finish) and then closes the store.
///
/// ```swift
/// let service = try await RecommendationService(recommender: recommender, store: SQLiteStore(path: path))
/// try await RecommendationServer.run(service: service, host: "127.0.0.1", port: 8080, adminToken: token, logger: logger)
/// ```
public enum RecommendationServer {
    /// The application, ready to run or to test in process.
    public static func application(
        service: RecommendationService, host: String = "127.0.0.1", port: Int = 8080, adminToken: String?,
        metrics: ServerMetrics = ServerMetrics(), logger: Logger = Logger(label: "metarec.server"),
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(MetricsRecorder(metrics: metrics, monitor: service.monitor))
        router.middlewares.add(ErrorMiddleware(logger: logger))
        router.middlewares.add(StoreSynchronisation(service: service))
        Routes(
            service: service, authorization: Authorization(adminToken: adminToken, sessionKey: service.sessionKey),
            metrics: metrics
        ).add(to: router)
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "metarec"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully and closes the store.
    public static func run(
        service: RecommendationService, host: String, port: Int, adminToken: String?,
        metrics: ServerMetrics = ServerMetrics(),
        logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let app = application(
            service: service, host: host, port: port, adminToken: adminToken, metrics: metrics, logger: logger,
            onRunning: onRunning)
        // Shut down in reverse order: the server first (it drains in-flight requests), then the store.
        let group = ServiceGroup(
            configuration: .init(
                services: [StoreService(store: service.store, logger: logger), app],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Closes the store once the service group shuts down (after the server has drained).
struct StoreService: Service {
    let store: any RecommendationStore
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        try await store.close()
        logger.info("store closed")
    }
}

/// Before each API request, catches the process up with the store when the refresh interval has
/// passed (``RecommendationService/synchronise(force:)``): other processes' items, hidden flags
/// and new-item observations, and a newly published model.
struct StoreSynchronisation<Context: RequestContext>: RouterMiddleware {
    let service: RecommendationService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.uri.path.hasPrefix("/v1/") { try await service.synchronise() }
        return try await next(request, context)
    }
}
