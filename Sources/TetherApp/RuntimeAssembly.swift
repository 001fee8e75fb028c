import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import TetherAgents
import TetherCore
import TetherOpenAI
import TetherPostgres
import TetherRuntime
import TetherSQLite

/// Where a Tether process keeps runs, events and the data store.
public enum Storage: Sendable {
    /// What the settings name: SQLite in `TETHER_DATA_DIR` (the embedded default), or
    /// PostgreSQL, shared with other instances, when `TETHER_DATABASE_URL` is set.
    case persistent
    /// Memory only: nothing survives the process (tests, `tether run`).
    case memory
    /// Stores of the caller's (tests that inject faults).
    case custom(runStore: any RunStore, dataStore: any DataStore)
}

/// The runtime of a Tether process, put together from its settings in one place: the
/// storage (opened, and recovered from what a previous process left in flight), the
/// retention service, the LLM provider (and the HTTP client it needs, as a service to shut
/// down), the agents and the supervisor. `tether serve` and `tether run` both start here.
public struct RuntimeAssembly: Sendable {
    public let supervisor: RunSupervisor
    /// Services that must outlive the supervisor's runs (the LLM's HTTP client, retention):
    /// run them before the supervisor in a group, so they shut down after it.
    public let services: [any Service]
    public let agents: DefinitionLoadResult
    public let dataStore: any DataStore
    /// Whether runs use the simulated provider (the screen says so).
    public let isSimulated: Bool
    /// The storage, for `GET /healthz`.
    public let storageHealth: StorageHealth

    /// Builds the runtime. Definitions that fail to load are logged and left out; runs the
    /// store holds as still in flight are marked `interrupted` before any new run can start.
    /// - Parameters:
    ///   - swiftAgents: agents written in Swift, registered besides the definitions.
    ///   - override: an LLM to use instead of the one the settings name (tests).
    /// - Throws: ``StartupError`` when the storage cannot be opened or recovered.
    public static func build(
        configuration: AppConfiguration,
        storage: Storage,
        swiftAgents: [AgentDescriptor] = [],
        llm override: (any LLMClient)? = nil,
        logger: Logger
    ) async throws(StartupError) -> RuntimeAssembly {
        var services: [any Service] = []
        let instanceID = configuration.instanceID ?? InstanceID.generated()
        var cluster: PostgresCluster?
        let runStore: any RunStore
        let dataStore: any DataStore
        let storageHealth: StorageHealth
        switch storage {
        case .persistent:
            if let url = configuration.databaseURL {
                let database: PostgresDatabase
                do {
                    database = try await PostgresDatabase.open(url: url, logger: logger)
                } catch {
                    throw StartupError("the database of TETHER_DATABASE_URL cannot be used: \(String(reflecting: error))")
                }
                let shared = PostgresCluster(
                    database: database,
                    instanceID: instanceID,
                    lease: configuration.lease,
                    period: configuration.clusterPoll,
                    logger: logger
                )
                do {
                    try await shared.register()
                } catch {
                    database.close()
                    throw StartupError("this instance cannot join the database of TETHER_DATABASE_URL: \(String(reflecting: error))")
                }
                cluster = shared
                // First: services shut down in reverse order, and the database goes last.
                services.append(database)
                logger.info("storing runs in PostgreSQL as instance \(instanceID)")
                (runStore, dataStore) = (PostgresRunStore(database: database), PostgresDataStore(database: database))
                storageHealth = StorageHealth(kind: "postgres") { await database.ping() }
            } else {
                // Before anything reads the folder: recovery would mark another server's runs.
                services.append(try DataFolderLock.acquire(directory: configuration.dataDirectory))
                (runStore, dataStore) = try openSQLite(configuration: configuration, logger: logger)
                storageHealth = StorageHealth(kind: "sqlite") { true }
            }
        case .memory:
            (runStore, dataStore) = (MemoryRunStore(), MemoryDataStore())
            storageHealth = StorageHealth(kind: "memory") { true }
        case .custom(let runs, let data):
            (runStore, dataStore) = (runs, data)
            storageHealth = StorageHealth(kind: "custom") { true }
        }
        let interrupted: [RunRecord]
        do {
            // On a shared database, only this instance's own leftovers: the others' are alive.
            interrupted = try await RunRecovery(store: runStore, logger: logger, instance: cluster == nil ? nil : instanceID).markedInterrupted()
        } catch {
            throw StartupError("the runs left by the previous process could not be recovered: \(error)")
        }
        let loaded = DefinitionLoader.load(directory: configuration.agentsDirectory, otherAgents: swiftAgents)
        if loaded.rejected.isEmpty {
            logger.info("\(loaded.summary)")
        } else {
            logger.warning("\(loaded.summary)")
        }
        let llm: any LLMClient
        if let override {
            llm = override
        } else if let openAI = configuration.openAI {
            let clientService = HTTPClientService.forLLM(
                connectTimeout: configuration.llmConnectTimeout,
                maxConnections: configuration.llmMaxConnections,
                logger: logger
            )
            services.append(clientService)
            llm = OpenAIClient(configuration: openAI, httpClients: clientService.clients, maxConnections: configuration.llmMaxConnections)
        } else {
            llm = SimulatedLLM(latency: configuration.simulatedLatency)
        }
        if let days = configuration.retentionDays {
            services.append(RetentionService(store: runStore, retention: .seconds(days * 86_400), logger: logger))
        }
        var supervision = configuration.supervisor
        supervision.instanceID = instanceID
        supervision.prices = try loadPrices(configuration.pricesFile)
        if supervision.prices == nil, configuration.budget[.cost] != nil {
            throw StartupError("TETHER_BUDGET_COST (--budget-cost) needs prices to count cost: set TETHER_PRICES (--prices)")
        }
        let supervisor = RunSupervisor(
            configuration: supervision,
            registry: AgentRegistry(swiftAgents + loaded.descriptors),
            runStore: runStore,
            dataStore: dataStore,
            llm: llm,
            cluster: cluster,
            logger: logger
        )
        if let cluster { services.append(PostgresClusterService(cluster: cluster, supervisor: supervisor)) }
        // Queued now, executed once the supervisor serves.
        await supervisor.resumeInterrupted(interrupted)
        return RuntimeAssembly(
            supervisor: supervisor,
            services: services,
            agents: loaded,
            dataStore: dataStore,
            isSimulated: override == nil && configuration.llm == .simulated,
            storageHealth: storageHealth
        )
    }

    /// The prices file of `TETHER_PRICES`, read once.
    private static func loadPrices(_ path: String?) throws(StartupError) -> LLMPrices? {
        guard let path else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StartupError("TETHER_PRICES (--prices) = '\(path)' cannot be read")
        }
        do {
            return try LLMPrices(json: String(decoding: data, as: UTF8.self))
        } catch {
            throw StartupError("TETHER_PRICES (--prices) = '\(path)' cannot be used: \(error.description)")
        }
    }

    private static func openSQLite(configuration: AppConfiguration, logger: Logger) throws(StartupError) -> (any RunStore, any DataStore) {
        let database: SQLiteDatabase
        do {
            database = try SQLiteDatabase.open(directory: configuration.dataDirectory)
        } catch {
            throw StartupError(error.description)
        }
        logger.info("storing runs in \(database.path)")
        return (SQLiteRunStore(database: database), SQLiteDataStore(database: database))
    }
}

/// Which storage a process uses, and whether it answers now (`GET /healthz`).
public struct StorageHealth: Sendable {
    /// `sqlite`, `postgres`, `memory`.
    public let kind: String
    public let check: @Sendable () async -> Bool

    public init(kind: String, check: @escaping @Sendable () async -> Bool) {
        self.kind = kind
        self.check = check
    }
}

/// Settings or files a Tether process cannot start with; its description is the one line
/// `tether` prints before exiting.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
