import AsyncHTTPClient
import Logging
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

    public func run() async throws {
        try? await gracefulShutdown()
        do {
            try await client.shutdown()
        } catch {
            logger.error("HTTP client shutdown failed", metadata: ["error": "\(error)"])
        }
    }
}
