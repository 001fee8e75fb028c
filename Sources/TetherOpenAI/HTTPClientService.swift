import AsyncHTTPClient
import Logging
import NIOCore
import ServiceLifecycle

/// Owns the application's one `HTTPClient` and shuts it down when the service group shuts
/// down (an `HTTPClient` never shut down traps in debug builds).
///
/// Put it in the `ServiceGroup` before the run supervisor: services shut down in reverse
/// order, so the client outlives the runs that use it.
public struct HTTPClientService: Service {
    public let client: HTTPClient
    let logger: Logger

    public init(
        client: HTTPClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup),
        logger: Logger = Logger(label: "tether.http-client")
    ) {
        self.client = client
        self.logger = logger
    }

    /// The client of the `openai` provider: as many connections to the LLM's host as calls in
    /// flight, up to `maxConnections` (AsyncHTTPClient's default of 8 per host makes the ninth
    /// concurrent call queue, and fail once it has waited the connect timeout), and
    /// `connectTimeout` for establishing a connection, apart from each call's own timeout.
    ///
    /// HTTP/1.1 only: over HTTP/2 AsyncHTTPClient keeps one connection per host and queues the
    /// calls past the server's `SETTINGS_MAX_CONCURRENT_STREAMS` (often 100) instead of opening
    /// another, so they would wait, and fail, as with the default pool.
    public static func forLLM(connectTimeout: Duration, maxConnections: Int, logger: Logger) -> HTTPClientService {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: TimeAmount(connectTimeout)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
        configuration.httpVersion = .http1Only
        return HTTPClientService(
            client: HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration),
            logger: logger
        )
    }

    public func run() async throws {
        try? await gracefulShutdown()
        do {
            try await client.shutdown()
        } catch {
            logger.error("HTTP client shutdown failed", metadata: ["error": "\(error)"])
        }
    }
}
