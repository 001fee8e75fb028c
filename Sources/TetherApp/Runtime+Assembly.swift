import AsyncHTTPClient
import Logging
import ServiceLifecycle
import TetherAgents
import TetherCore
import TetherOpenAI
import TetherRuntime

/// The parts a Tether process runs, put together from its settings: the LLM provider (and
/// the HTTP client it needs, as a service to shut down), the agents, the supervisor.
public struct RuntimeAssembly: Sendable {
    public let supervisor: RunSupervisor
    /// Services to run before the supervisor (the HTTP client, which must outlive runs).
    public let services: [any Service]
    public let agents: DefinitionLoadResult

    /// Builds the runtime. Definitions that fail to load are logged and left out.
    /// - Parameters:
    ///   - swiftAgents: agents written in Swift, registered besides the definitions.
    ///   - override: an LLM to use instead of the one the settings name (tests).
    public init(
        configuration: AppConfiguration,
        runStore: any RunStore,
        dataStore: any DataStore,
        swiftAgents: [AgentDescriptor] = [],
        llm override: (any LLMClient)? = nil,
        logger: Logger
    ) {
        let loaded = DefinitionLoader.load(directory: configuration.agentsDirectory, otherAgents: swiftAgents)
        if loaded.rejected.isEmpty {
            logger.info("\(loaded.summary)")
        } else {
            logger.warning("\(loaded.summary)")
        }
        var services: [any Service] = []
        let llm: any LLMClient
        if let override {
            llm = override
        } else if let openAI = configuration.openAI {
            let clientService = HTTPClientService(logger: logger)
            services.append(clientService)
            llm = OpenAIClient(configuration: openAI, httpClient: clientService.client)
        } else {
            llm = SimulatedLLM(latency: configuration.simulatedLatency)
        }
        supervisor = RunSupervisor(
            configuration: configuration.supervisor,
            registry: AgentRegistry(swiftAgents + loaded.descriptors),
            runStore: runStore, dataStore: dataStore, llm: llm, logger: logger)
        self.services = services
        self.agents = loaded
    }
}
