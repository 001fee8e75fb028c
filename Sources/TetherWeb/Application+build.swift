import Hummingbird
import Logging
import TetherApp
import TetherCore

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
    /// Told the bound port once the server listens.
    public var onListening: (@Sendable (Int) async -> Void)?

    public init(
        storage: Storage = .persistent,
        swiftAgents: [AgentDescriptor] = [],
        llm: (any LLMClient)? = nil,
        keepAliveInterval: Duration = .seconds(15),
        templatesDirectory: String = "Templates",
        publicDirectory: String = "Public",
        logger: Logger = Logger(label: "tether"),
        onListening: (@Sendable (Int) async -> Void)? = nil
    ) {
        self.storage = storage
        self.swiftAgents = swiftAgents
        self.llm = llm
        self.keepAliveInterval = keepAliveInterval
        self.templatesDirectory = templatesDirectory
        self.publicDirectory = publicDirectory
        self.logger = logger
        self.onListening = onListening
    }
}

/// Builds a Tether server from its settings (DESIGN §8), in the manner of the Hummingbird
/// template: the runtime (``RuntimeAssembly``), the pages, the router, the application.
/// - Throws: ``StartupError`` when the settings or files cannot be served as they are.
public func buildApplication(
    _ configuration: AppConfiguration,
    dependencies: ServerDependencies = ServerDependencies()
) async throws(StartupError) -> TetherApplication {
    if configuration.apiToken == nil, !Loopback.isLoopback(host: configuration.host) {
        throw StartupError(
            "TETHER_HOST=\(configuration.host) is not a loopback address: set TETHER_API_TOKEN (--api-token) so that only people with the token can use this server"
        )
    }
    let renderer = try await PageRenderer.load(
        templates: dependencies.templatesDirectory,
        assets: dependencies.publicDirectory
    )
    let runtime = try await RuntimeAssembly.build(
        configuration: configuration,
        storage: dependencies.storage,
        swiftAgents: dependencies.swiftAgents,
        llm: dependencies.llm,
        logger: dependencies.logger
    )
    let router = buildRouter(
        configuration: configuration,
        runtime: runtime,
        renderer: renderer,
        dependencies: dependencies
    )
    return TetherApplication(
        responder: router.buildResponder(),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: "Tether"
        ),
        logger: dependencies.logger,
        supervisor: runtime.supervisor,
        host: configuration.host,
        runtimeServices: runtime.services,
        idleTimeout: configuration.idleTimeout,
        onListening: dependencies.onListening
    )
}
