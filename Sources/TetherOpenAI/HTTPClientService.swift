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
    /// One client, or several sharing the load (``forLLM(connectTimeout:maxConnections:logger:)``).
    public let clients: [HTTPClient]
    let logger: Logger

    /// The first client (the only one, unless made by ``forLLM(connectTimeout:maxConnections:logger:)``).
    public var client: HTTPClient { clients[0] }

    public init(
        client: HTTPClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup),
        logger: Logger = Logger(label: "tether.http-client")
    ) {
        self.init(clients: [client], logger: logger)
    }

    init(clients: [HTTPClient], logger: Logger) {
        self.clients = clients
        self.logger = logger
    }

    /// Connections one client's pool keeps at most before another client shares the load.
    /// AsyncHTTPClient's pool copies its array of connections each time it opens one, so
    /// opening N in one pool costs N² copies: 10,000 calls at once spent a third of the
    /// server's CPU there (perf). Pools of at most this many keep that cost small.
    public static let connectionsPerClient = 640

    /// The client of the `openai` provider: as many connections to the LLM's host as calls in
    /// flight, up to `maxConnections` (AsyncHTTPClient's default of 8 per host makes the ninth
    /// concurrent call queue, and fail once it has waited the connect timeout), and
    /// `connectTimeout` for establishing a connection, apart from each call's own timeout.
    ///
    /// HTTP/1.1 only: over HTTP/2 AsyncHTTPClient keeps one connection per host and queues the
    /// calls past the server's `SETTINGS_MAX_CONCURRENT_STREAMS` (often 100) instead of opening
    /// another, so they would wait, and fail, as with the default pool.
    ///
    /// Past ``connectionsPerClient`` connections the calls are shared among several clients,
    /// each allowed them all, so that none ever queues a call (the provider's own gate keeps
    /// the total within `maxConnections`).
    public static func forLLM(connectTimeout: Duration, maxConnections: Int, logger: Logger) -> HTTPClientService {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: TimeAmount(connectTimeout)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
        configuration.httpVersion = .http1Only
        let count = max(1, (maxConnections + connectionsPerClient - 1) / connectionsPerClient)
        return HTTPClientService(
            clients: (0..<count).map { _ in HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration) },
            logger: logger
        )
    }

    public func run() async throws {
        try? await gracefulShutdown()
        for client in clients {
            do {
                try await client.shutdown()
            } catch {
                logger.error("HTTP client shutdown failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
