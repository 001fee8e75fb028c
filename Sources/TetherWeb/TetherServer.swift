import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import TetherApp
import TetherCore
import TetherRuntime
import TetherSQLite
import UnixSignals

/// Where a server keeps runs, events and the data store.
public enum Storage: Sendable {
    /// SQLite in `TETHER_DATA_DIR` (the embedded default).
    case sqlite
    /// Memory only: nothing survives the process (tests).
    case memory
    /// Stores of the caller's (tests that inject faults).
    case custom(runStore: any RunStore, dataStore: any DataStore)
}

/// What a server needs besides its settings; tests swap the stores and the LLM here.
public struct ServerDependencies: Sendable {
    public var storage: Storage
    /// Agents written in Swift, besides the definitions of the agents folder.
    public var swiftAgents: [AgentDescriptor]
    /// An LLM to use instead of the one the settings name.
    public var llm: (any LLMClient)?
    /// How often an idle event stream gets a `: keep-alive` comment.
    public var keepAliveInterval: Duration
    /// The Mustache templates of the screen.
    public var templatesDirectory: String
    /// The styles and script the pages load.
    public var publicDirectory: String
    public var logger: Logger

    public init(
        storage: Storage = .sqlite,
        swiftAgents: [AgentDescriptor] = [], llm: (any LLMClient)? = nil, keepAliveInterval: Duration = .seconds(15),
        templatesDirectory: String = "Templates", publicDirectory: String = "Public",
        logger: Logger = Logger(label: "tether")
    ) {
        self.templatesDirectory = templatesDirectory
        self.publicDirectory = publicDirectory
        self.storage = storage
        self.swiftAgents = swiftAgents
        self.llm = llm
        self.keepAliveInterval = keepAliveInterval
        self.logger = logger
    }
}

/// A Tether server, put together: the HTTP routes, the run supervisor, and the services they
/// need (the LLM's HTTP client).
public struct TetherServer: Sendable {
    public let configuration: AppConfiguration
    public let supervisor: RunSupervisor
    /// Services the supervisor's runs use; they must outlive it.
    public let runtimeServices: [any Service]
    let responder: RouterResponder<AppRequestContext>
    let logger: Logger

    /// The application with the runtime inside it, as HummingbirdTesting runs it.
    public func application() -> some ApplicationProtocol {
        Application(
            responder: responder, configuration: applicationConfiguration,
            services: runtimeServices + [supervisor], onServerRunning: announce, logger: logger)
    }

    /// Everything in one group, ordered so that shutdown drains runs while the server still
    /// answers: a `ServiceGroup` shuts down in reverse order, so the supervisor goes first
    /// (new runs get `503`, runs stop, event streams get their final frames), then the HTTP
    /// server, then the LLM client.
    public func serviceGroup(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) -> ServiceGroup {
        let server = Application(
            responder: responder, configuration: applicationConfiguration, onServerRunning: announce, logger: logger)
        return ServiceGroup(configuration: .init(
            services: runtimeServices.map { .init(service: $0) } + [.init(service: server), .init(service: supervisor)],
            gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
    }

    var applicationConfiguration: ApplicationConfiguration {
        ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "Tether")
    }

    @Sendable func announce(_ channel: any Channel) async {
        let port = channel.localAddress?.port ?? configuration.port
        logger.info("Tether is serving on http://\(configuration.host):\(port)")
    }
}

/// Builds a Tether server from its settings (DESIGN §8).
/// - Throws: ``ServerSetupError`` when the settings cannot be served as they are.
public func buildServer(_ configuration: AppConfiguration, dependencies: ServerDependencies = ServerDependencies()) async throws -> TetherServer {
    if configuration.apiToken == nil, !isLoopback(configuration.host) {
        throw ServerSetupError(
            "TETHER_HOST=\(configuration.host) is not a loopback address: set TETHER_API_TOKEN (--api-token) so that only people with the token can use this server")
    }
    let runStore: any RunStore
    let dataStore: any DataStore
    switch dependencies.storage {
    case .sqlite:
        let database: SQLiteDatabase
        do {
            database = try SQLiteDatabase.open(directory: configuration.dataDirectory)
        } catch {
            throw ServerSetupError(error.description)
        }
        dependencies.logger.info("storing runs in \(database.path)")
        runStore = SQLiteRunStore(database: database)
        dataStore = SQLiteDataStore(database: database)
    case .memory:
        runStore = MemoryRunStore()
        dataStore = MemoryDataStore()
    case .custom(let runs, let data):
        runStore = runs
        dataStore = data
    }
    let runtime = RuntimeAssembly(
        configuration: configuration, runStore: runStore, dataStore: dataStore,
        swiftAgents: dependencies.swiftAgents, llm: dependencies.llm, logger: dependencies.logger)
    let supervisor = runtime.supervisor
    // Before any run can start: what the last process left in flight is now interrupted.
    try await supervisor.recoverInterruptedRuns()
    var services = runtime.services
    if let days = configuration.retentionDays {
        services.append(RetentionService(store: runStore, retention: .seconds(days * 86_400), logger: dependencies.logger))
    }
    let renderer = try await PageRenderer.load(
        templates: dependencies.templatesDirectory, assets: dependencies.publicDirectory)
    let screen = RunsScreen(
        supervisor: supervisor, renderer: renderer, grace: configuration.stopGrace,
        isSimulated: dependencies.llm == nil && configuration.llm == .simulated)
    let router = buildRouter(
        configuration: configuration, supervisor: supervisor, dataStore: dataStore, screen: screen,
        keepAliveInterval: dependencies.keepAliveInterval, publicDirectory: dependencies.publicDirectory,
        logger: dependencies.logger)
    return TetherServer(
        configuration: configuration, supervisor: supervisor, runtimeServices: services,
        responder: router.buildResponder(), logger: dependencies.logger)
}

/// `buildServer(…).application()`: the shape HummingbirdTesting uses.
public func buildApplication(_ configuration: AppConfiguration, dependencies: ServerDependencies = ServerDependencies()) async throws
    -> some ApplicationProtocol
{
    try await buildServer(configuration, dependencies: dependencies).application()
}

/// Whether `host` names this machine only.
func isLoopback(_ host: String) -> Bool {
    host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
}

/// Settings that cannot be served as they are.
public struct ServerSetupError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
