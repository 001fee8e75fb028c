import Logging
import TetherCore

/// What every run's execution works with: the limits, the agents, the stores, the LLM, the
/// event hub and the registry of live runs. Shared by the supervisor and each
/// ``RunExecution``, which therefore never reach back into the supervisor.
struct RunEnvironment: Sendable {
    let configuration: SupervisorConfiguration
    let registry: AgentRegistry
    let runStore: any RunStore
    let dataStore: any DataStore
    let llm: any LLMClient
    let hub: EventHub
    let live: LiveRuns
    /// The other instances on the database, if any.
    let cluster: (any RunCluster)?
    let logger: Logger

    /// The instance recorded in each run.
    var instanceID: String? { cluster?.instanceID ?? configuration.instanceID }
}
