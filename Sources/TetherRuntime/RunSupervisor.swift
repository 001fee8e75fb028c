import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TetherCore

/// Owns every run: starts it in its own long-lived task group (never a request's task),
/// stops it cooperatively, records its status and events, and drains on shutdown.
///
/// Run it as a `Service` in the application's `ServiceGroup`, before the HTTP server, so that
/// on shutdown it drains first: new runs are refused, runs in flight are asked to stop, and
/// after ``SupervisorConfiguration/stopGrace`` what remains is marked `interrupted`.
public final class RunSupervisor: Service, Sendable {
    let configuration: SupervisorConfiguration
    let registry: AgentRegistry
    let runStore: any RunStore
    let dataStore: any DataStore
    let llm: any LLMClient
    let logger: Logger
    /// Subscriptions to run trees' events.
    public let hub: EventHub

    struct Job: Sendable {
        let run: LiveRun
    }

    struct State {
        var live: [RunID: LiveRun] = [:]
        /// Final records the store refused, by run.
        var unsaved: [RunID: RunRecord] = [:]
        var rootsInFlight = 0
        var isShuttingDown = false
    }
    let state = Mutex(State())
    private let jobs: AsyncStream<Job>
    private let jobsContinuation: AsyncStream<Job>.Continuation

    public init(
        configuration: SupervisorConfiguration = SupervisorConfiguration(),
        registry: AgentRegistry,
        runStore: any RunStore,
        dataStore: any DataStore,
        llm: any LLMClient,
        logger: Logger = Logger(label: "tether.supervisor")
    ) {
        self.configuration = configuration
        self.registry = registry
        self.runStore = runStore
        self.dataStore = dataStore
        self.llm = llm
        self.logger = logger
        self.hub = EventHub(store: runStore)
        (jobs, jobsContinuation) = AsyncStream.makeStream(of: Job.self)
    }

    /// The agents this supervisor runs.
    public var agents: AgentRegistry { registry }

    /// Starts a root run of agent `name` and returns its record (status `running`) at once;
    /// the run executes in the supervisor's task group once ``run()`` is serving.
    /// - Parameters:
    ///   - rawInput: the input, checked with `AgentDescriptor.validatedInput` first.
    ///   - coercingStrings: whether text may stand for numbers and booleans (form posts).
    public func start(
        agent name: String, input rawInput: JSONValue, coercingStrings: Bool = false
    ) async throws(SupervisorError) -> RunRecord {
        guard let descriptor = registry[name] else { throw .unknownAgent(name) }
        let input: JSONValue
        do { input = try descriptor.validatedInput(rawInput, coercingStrings: coercingStrings) } catch {
            throw .invalidInput(error.description)
        }
        let id = RunID()
        let record = RunRecord(id: id, agent: name, input: input, rootRunID: id, createdAt: Date())
        let run = LiveRun(record: record, descriptor: descriptor, token: CancelToken(), log: hub.open(root: id))
        let refusal: SupervisorError? = state.withLock { state in
            if state.isShuttingDown { return .shuttingDown }
            if state.rootsInFlight >= configuration.maxRuns { return .tooManyRuns(limit: configuration.maxRuns) }
            state.rootsInFlight += 1
            state.live[id] = run
            return nil
        }
        if let refusal {
            hub.retire(root: id)
            throw refusal
        }
        do {
            try await runStore.insertRun(record)
        } catch {
            state.withLock { state in
                state.rootsInFlight -= 1
                state.live[id] = nil
            }
            hub.retire(root: id)
            throw .storage(String(describing: error))
        }
        // Shutdown may have ended the job stream since the check above: then the run never
        // starts, so it is recorded interrupted and the caller told.
        if case .terminated = jobsContinuation.yield(Job(run: run)) {
            await interrupt(run)
            throw .shuttingDown
        }
        logger.info("run started", metadata: ["run": "\(id)", "agent": "\(name)"])
        return record
    }

    /// The current record of a run: live state while it runs, the store's afterwards.
    public func record(_ id: RunID) async throws -> RunRecord? {
        if let live = liveRun(id) { return live.record }
        if let unsaved = state.withLock({ $0.unsaved[id] }) { return unsaved }
        return try await runStore.run(id)
    }

    /// Every run of the tree rooted at `root`, the root first.
    public func runs(inTree root: RunID) async throws -> [RunRecord] {
        let stored = try await runStore.runs(inTree: root)
        return stored.map { liveRun($0.id)?.record ?? $0 }
    }

    /// Waits until run `id` is terminal and returns its final record.
    /// - Throws: ``SupervisorError/notFound(_:)`` for an unknown id, `CancellationError`
    ///   if the waiting task is cancelled first.
    public func waitUntilFinished(_ id: RunID) async throws -> RunRecord {
        if let live = liveRun(id) {
            await live.finished.wait()
            try Task.checkCancellation()
        }
        guard let record = try await record(id) else { throw SupervisorError.notFound(id) }
        return record
    }

    /// The events of the tree rooted at `root` after `seq`: replay, then live.
    public func events(ofTree root: RunID, after seq: Int = 0) -> EventSubscription {
        hub.events(ofTree: root, after: seq)
    }

    /// The highest `seq` logged in the tree rooted at `root` (0 for none).
    public func lastSeq(ofTree root: RunID) async throws -> Int {
        if let log = hub.log(of: root) { return log.lastSeq }
        return try await runStore.lastSeq(inTree: root)
    }

    /// Every event logged so far in the tree rooted at `root`, without waiting for more.
    public func loggedEvents(ofTree root: RunID) async throws -> [ProgressEvent] {
        if let log = hub.log(of: root) { return log.read(after: 0, limit: .max).events }
        var events: [ProgressEvent] = []
        while true {
            let page = try await runStore.events(inTree: root, after: events.last?.seq ?? 0, limit: 1024)
            if page.isEmpty { return events }
            events += page
        }
    }

    /// The `run.finished` event of run `id`, once logged: from the live log while its tree
    /// is in flight, else from the store.
    public func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent? {
        if let log = hub.log(of: root) {
            return log.read(after: 0, limit: .max).events.last { $0.kind == .runFinished && $0.runID == id }
        }
        return try await runStore.finishedEvent(of: id, inTree: root)
    }

    /// The run `id` and every run below it, parents first, with live statuses.
    public func subtree(of id: RunID) async throws -> [RunRecord] {
        guard let record = try await record(id) else { return [] }
        return try await runStore.subtree(of: id, inTree: record.rootRunID).map { liveRun($0.id)?.record ?? $0 }
    }

    /// Root runs (or, with a filter, matching runs), newest first.
    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        try await runStore.listRuns(query).map { liveRun($0.id)?.record ?? $0 }
    }

    /// How many runs of `agent` are in flight (roots and children).
    public func inFlightCount(agent: String) -> Int {
        state.withLock { $0.live.values.filter { $0.record.agent == agent && $0.record.status.isInFlight }.count }
    }

    /// How many root runs are in flight.
    public var rootsInFlight: Int { state.withLock { $0.rootsInFlight } }

    func liveRun(_ id: RunID) -> LiveRun? {
        state.withLock { $0.live[id] }
    }

    /// Serves: executes each started run in this service's task group until shutdown, then
    /// drains (see the type's documentation).
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await job in jobs {
                    group.addTask { await self.execute(job.run) }
                }
            } onGracefulShutdown: {
                self.beginShutdown()
            }
            await drain()
        }
        logger.info("run supervisor stopped")
    }

    /// Refuses new runs from now on and ends the job stream, so ``run()`` drains.
    public func beginShutdown() {
        state.withLock { $0.isShuttingDown = true }
        jobsContinuation.finish()
    }
}
