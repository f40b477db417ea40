import Foundation
import Hummingbird
import Metrics
import Prometheus

/// Request counts and durations through swift-metrics into a Prometheus registry, exposed at
/// `/metrics`. The factory is passed explicitly, so several servers (tests) never fight over
/// the process-wide `MetricsSystem`.
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
    }

    func record(route: String, method: String, status: Int, seconds: Double) {
        let dimensions = [("route", route), ("method", method), ("status", String(status))]
        Counter(label: "metarec_http_requests_total", dimensions: dimensions, factory: factory).increment()
        Metrics.Timer(
            label: "metarec_http_request_duration_seconds", dimensions: [("route", route), ("method", method)],
            factory: factory
        )
        .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Times every request: swift-metrics for `/metrics`, and the in-process window for the admin status.
struct MetricsRecorder<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let monitor: Monitor

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try await next(request, context)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metrics.record(
            route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code,
            seconds: seconds)
        monitor.record(seconds: seconds)
        return response
    }
}
