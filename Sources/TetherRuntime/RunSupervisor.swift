import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TetherCore

/// The service that owns every run: it admits new runs, executes each root run in its own
/// long-lived task group (never a request's task), stops runs on request, and drains on
/// shutdown. What one run does is ``RunExecution``'s; what clients read is ``reads``'s.
///
/// Run it in the application's `ServiceGroup` *after* the HTTP server, so that on shutdown
/// (which goes in reverse order) it drains first: new runs are refused, runs in flight are
/// asked to stop, and after ``SupervisorConfiguration/stopGrace`` what remains is marked
/// `interrupted`, while the server still answers.
public final class RunSupervisor: Service, Sendable {
    let environment: RunEnvironment
    /// The questions clients ask about runs, answered from live state and the store.
    public let reads: LocalRunReads
    /// The runs this process is resuming whole right now (``resume(_:at:)``).
    let resuming = Mutex<Set<RunID>>([])
    private let jobs: AsyncStream<RunExecution>
    private let jobsContinuation: AsyncStream<RunExecution>.Continuation

    public init(
        configuration: SupervisorConfiguration = SupervisorConfiguration(),
        registry: AgentRegistry,
        runStore: any RunStore,
        dataStore: any DataStore,
        llm: any LLMClient,
        cluster: (any RunCluster)? = nil,
        logger: Logger = Logger(label: "tether.supervisor")
    ) {
        let live = LiveRuns()
        let hub = EventHub(store: runStore, cluster: cluster)
        environment = RunEnvironment(
            configuration: configuration,
            registry: registry,
            runStore: runStore,
            dataStore: dataStore,
            llm: llm,
            hub: hub,
            live: live,
            cluster: cluster,
            logger: logger
        )
        reads = LocalRunReads(live: live, hub: hub, store: runStore, cluster: cluster)
        (jobs, jobsContinuation) = AsyncStream.makeStream(of: RunExecution.self)
    }

    var logger: Logger { environment.logger }
    /// The live logs of the trees in flight (for tests that look at what a log holds).
    package var eventHub: EventHub { environment.hub }
    var live: LiveRuns { environment.live }

    /// The other instances on the database, if any.
    public var cluster: (any RunCluster)? { environment.cluster }

    /// The instance recorded in the runs this supervisor executes.
    public var instanceID: String? { environment.instanceID }

    /// The agents this supervisor runs.
    public var agents: AgentRegistry { environment.registry }

    /// How many root runs are in flight.
    public var rootsInFlight: Int { live.rootsInFlight }

    /// Starts a root run of agent `name` and returns its record (status `running`) at once;
    /// the run executes in the supervisor's task group once ``run()`` is serving.
    /// - Parameters:
    ///   - rawInput: the input, checked with `AgentDescriptor.validatedInput` first.
    ///   - coercingStrings: whether text may stand for numbers and booleans (form posts).
    ///   - budget: the run's own limits over its agent's and the server's (``budget(of:overriding:)``).
    public func start(
        agent name: String,
        input rawInput: JSONValue,
        coercingStrings: Bool = false,
        budget: RunBudget.Override = RunBudget.Override()
    ) async throws(SupervisorError) -> RunRecord {
        guard let descriptor = environment.registry[name] else { throw .unknownAgent(name) }
        let input: JSONValue
        do { input = try descriptor.validatedInput(rawInput, coercingStrings: coercingStrings) } catch {
            throw .invalidInput(error.description)
        }
        if let cost = budget.budget[.cost], environment.configuration.prices == nil {
            throw .invalidInput(
                "a cost budget (\(RunBudget.Limit.cost.format(cost))) needs prices, and none are set (TETHER_PRICES)"
            )
        }
        return try await launch(descriptor, input: input, budget: self.budget(of: descriptor, overriding: budget))
    }

    /// The limits a root run of `descriptor` gets: the server's defaults (`TETHER_BUDGET_*`),
    /// then the agent's, then the run's own; `nil` when none is set.
    public func budget(of descriptor: AgentDescriptor, overriding override: RunBudget.Override = RunBudget.Override()) -> RunBudget? {
        let defaults = environment.configuration.budget
        let budget = override.applied(to: descriptor.budget?.overriding(defaults) ?? defaults)
        return budget.isEmpty ? nil : budget
    }

    /// What a resumed run continues: the run it names in `resumedFrom`, the fork's position,
    /// and the journal it replays.
    struct Continuation {
        var run: RunID
        var forkedAt: Int?
        var replay: RunReplay
    }

    /// Admits, records and queues a new root run (``start(agent:input:coercingStrings:)``,
    /// ``resume(_:at:)``).
    /// - Parameter pastLimit: whether the run is admitted even past `TETHER_MAX_RUNS` (an
    ///   interrupted run resumed by itself, which was admitted once already).
    func launch(
        _ descriptor: AgentDescriptor,
        input: JSONValue,
        budget: RunBudget?,
        continuing continuation: Continuation? = nil,
        pastLimit: Bool = false
    ) async throws(SupervisorError) -> RunRecord {
        let replay = continuation?.replay
        let name = descriptor.name
        let id = RunID()
        let record = RunRecord(
            id: id,
            agent: name,
            input: input,
            rootRunID: id,
            createdAt: Date(),
            instance: environment.instanceID,
            resumedFrom: continuation?.run,
            forkedAt: continuation?.forkedAt,
            budget: budget
        )
        let run = RunExecution(
            record: record,
            descriptor: descriptor,
            token: CancelToken(),
            log: environment.hub.open(root: id),
            environment: environment,
            replay: replay
        )
        do {
            try live.admit(run, maxRoots: pastLimit ? .max : environment.configuration.maxRuns)
        } catch {
            environment.hub.retire(root: id)
            throw error
        }
        do {
            try await environment.runStore.insertRun(record)
        } catch {
            live.remove(run, unsaved: nil)
            live.releaseSlot()
            environment.hub.retire(root: id)
            // A drain may already wait for it.
            run.finished.open()
            throw .storage(String(describing: error))
        }
        // Shutdown may have ended the job stream since admission: then the run never
        // starts, so it is recorded interrupted and the caller told.
        if case .terminated = jobsContinuation.yield(run) {
            await run.endAbruptly(.interrupted)
            throw .shuttingDown
        }
        var metadata: Logger.Metadata = ["run": "\(id)", "agent": "\(name)"]
        if let continuation { metadata["resumedFrom"] = "\(continuation.run)" }
        logger.info("run started", metadata: metadata)
        return record
    }

    /// Serves: executes each started run in this service's task group until shutdown, then
    /// drains (see the type's documentation).
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await run in jobs {
                    group.addTask { await run.execute() }
                }
            } onGracefulShutdown: {
                self.beginShutdown()
            }
            await drain()
        }
        await live.unsaved.retry(into: environment.runStore)
        logger.info("run supervisor stopped")
    }

    /// Refuses new runs from now on and ends the job stream, so ``run()`` drains.
    public func beginShutdown() {
        _ = live.refuseNewRuns()
        jobsContinuation.finish()
    }
}
