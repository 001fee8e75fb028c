import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import TetherRuntime
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// A Tether server: the HTTP routes, the run supervisor, and the services its runs need.
///
/// Shutdown order is the point of this type. A `ServiceGroup` shuts its services down in
/// reverse order, and Hummingbird's own `Application` runs its server *last* among its
/// services, so it would close the server before the runs drained. ``run()`` therefore runs
/// one group of the runtime's services, the HTTP server, then the supervisor: on SIGTERM the
/// supervisor drains first (new runs `503`, runs asked to stop, event streams given their
/// final frames) while the server still answers; then the server closes; then the LLM's HTTP
/// client.
public struct TetherApplication: ApplicationProtocol {
    public typealias Responder = RouterResponder<AppRequestContext>

    public let responder: Responder
    public let configuration: ApplicationConfiguration
    public let logger: Logger
    public let supervisor: RunSupervisor
    /// The host the server binds, for the log line that announces it.
    let host: String
    /// Services the supervisor's runs use (the LLM's HTTP client, retention); they outlive it.
    let runtimeServices: [any Service]
    /// How long a connection may idle (see ``HTTP1Connections/configuration(idleTimeout:)``).
    let idleTimeout: Duration
    /// Told the bound port once the server listens (port `0` picks a free one).
    let onListening: (@Sendable (Int) async -> Void)?

    /// What HummingbirdTesting's router mode runs beside its direct calls to the responder:
    /// the runtime's services, then the supervisor, so that it still drains first.
    public var services: [any Service] { runtimeServices + [supervisor] }

    public func onServerRunning(_ channel: any Channel) async {
        let port = channel.localAddress?.port ?? 0
        logger.info("Tether is serving on http://\(host):\(port)")
        await onListening?(port)
    }

    /// Serves until graceful shutdown, in the order the type's documentation gives.
    public func run() async throws {
        let server = Application(
            responder: responder,
            server: .http1(configuration: HTTP1Connections.configuration(idleTimeout: idleTimeout)),
            configuration: configuration,
            onServerRunning: onServerRunning,
            logger: logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: runtimeServices.map { .init(service: $0) } + [.init(service: server), .init(service: supervisor)],
                logger: logger
            )
        )
        try await group.run()
    }

    /// Serves as `tether serve` does, until the process is told to stop: the first SIGTERM or
    /// SIGINT shuts down gracefully (``run()``); a second one marks what is still in flight
    /// `interrupted` and exits at once, with status 130 after SIGINT or 143 after SIGTERM.
    public func serve() async throws {
        let group = ServiceGroup(configuration: .init(services: [self], gracefulShutdownSignals: [], logger: logger))
        let supervisor = self.supervisor
        let logger = self.logger
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                var received = 0
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    received += 1
                    if received == 1 {
                        logger.info("shutting down: runs in flight are asked to stop (signal again to stop at once)")
                        await group.triggerGracefulShutdown()
                    } else {
                        logger.warning("stopping at once: runs still in flight are marked interrupted")
                        await supervisor.interruptNow()
                        exit(signal == .sigint ? 130 : 143)
                    }
                }
            }
            try await tasks.next()
            tasks.cancelAll()
        }
    }
}
