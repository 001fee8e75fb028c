import Foundation
import Synchronization
import TetherCore

/// One run in flight and everything it does: its record (the truth while it runs), its
/// boundary rule and token, its tools, and its ending. Root runs execute in the supervisor's
/// task group, child runs inside their parent's task (``runChild(agent:input:)``).
///
/// Only this type writes a live run's record; the supervisor asks it to stop, force or be
/// interrupted, and reads it through the read model.
final class RunExecution: Sendable {
    let id: RunID
    let descriptor: AgentDescriptor
    /// The run's token and boundary rule.
    let gate: BoundaryGate
    let log: EventLog
    let environment: RunEnvironment
    /// The journal a resumed run replays before it goes live; `nil` for a new run.
    let replay: RunReplay?
    /// How the agent's work is going, and how it is cut short.
    let work = RunWork()
    /// Opened once the final record and `run.finished` are written.
    let finished = Latch()
    /// Orders this run's record writes.
    private let recordWrites = SerialQueue()

    private struct State {
        var record: RunRecord
        var children: [RunID] = []
        /// On a root with a budget of LLM calls: the tree's calls in flight (``takeCallPlace()``).
        var callsInFlight = 0
    }
    private let state: Mutex<State>

    init(
        record: RunRecord,
        descriptor: AgentDescriptor,
        token: CancelToken,
        log: EventLog,
        environment: RunEnvironment,
        replay: RunReplay? = nil
    ) {
        self.id = record.id
        self.replay = replay
        self.descriptor = descriptor
        self.gate = BoundaryGate(token: token)
        self.log = log
        self.environment = environment
        self.state = Mutex(State(record: record))
    }

    var token: CancelToken { gate.token }
    var record: RunRecord { state.withLock { $0.record } }
    var parentID: RunID? { state.withLock { $0.record.parentRunID } }
    var depth: Int { state.withLock { $0.record.depth } }
    var isRoot: Bool { parentID == nil }
    var isTerminal: Bool { state.withLock { $0.record.status.isTerminal } }
    var children: [RunID] { state.withLock { $0.children } }

    /// Counts a finished LLM call in this run's usage, and in its ancestors' subtree usage.
    /// Counts a call for the run and its ancestors; with `place`, the call leaves its place
    /// in the same step as it is counted, so that the tree's calls are never counted twice.
    func count(_ usage: TokenUsage?, seconds: Double, cost: Double?, leaving place: CallPlace?) {
        changeUsage { $0.run.add(usage, seconds: seconds, cost: cost) }
        var run: RunExecution? = self
        var left = place == nil
        while let counted = run {
            let isPlaceRoot = place?.root === counted
            counted.changeUsage(leavingCallPlace: isPlaceRoot) { $0.tree.add(usage, seconds: seconds, cost: cost) }
            left = left || isPlaceRoot
            run = counted.parentID.flatMap { environment.live[$0] }
        }
        // An ancestor already gone (force-stopped) cut the walk short: the place is left anyway.
        if !left { place?.leave() }
    }

    private func changeUsage(leavingCallPlace: Bool = false, _ change: (inout RunUsage) -> Void) {
        state.withLock { state in
            var usage = state.record.usage ?? RunUsage()
            change(&usage)
            state.record.usage = usage
            if leavingCallPlace { state.callsInFlight -= 1 }
        }
    }

    /// What ``reserveCall()`` found.
    enum CallReservation {
        /// The tree has no budget of LLM calls: nothing to take.
        case unlimited
        case taken
        case reached(RunBudget.Reached)
    }

    /// On the root, in one step with the record: takes a place for one more call unless the
    /// calls made and in flight have used up the budget of LLM calls.
    func reserveCall() -> CallReservation {
        state.withLock { state in
            guard let limit = state.record.budget?[.llmCalls] else { return .unlimited }
            let used = (state.record.usage?.tree.llmCalls ?? 0) + state.callsInFlight
            guard Double(used) < limit else { return .reached(RunBudget.Reached(limit: .llmCalls, budget: limit, used: Double(used))) }
            state.callsInFlight += 1
            return .taken
        }
    }

    /// On the root: a call that was not counted (it failed, or never began) leaves its place.
    func releaseCall() {
        state.withLock { $0.callsInFlight -= 1 }
    }

    func addChild(_ id: RunID) {
        state.withLock { $0.children.append(id) }
    }

    /// Feeds the status state machine and keeps the record in step with it; `also` changes
    /// the record further under the same lock, knowing the action.
    func transition<T>(_ input: (inout RunLifecycle) -> T, also: (inout RunRecord, T) -> Void = { _, _ in }) -> T {
        state.withLock { state in
            var lifecycle = state.record.lifecycle
            let action = input(&lifecycle)
            state.record.status = lifecycle.status
            state.record.stopRequestedAt = lifecycle.stopRequestedAt
            state.record.forced = lifecycle.forced
            also(&state.record, action)
            return action
        }
    }

    /// Runs the agent to its end: its `run`, then its `cleanup()`, then the final record.
    ///
    /// The agent's code runs in a task of its own (with the run's task-locals), which this
    /// one awaits, so that a force stop or shutdown (``RunWork/cut``) can cancel that code and
    /// still finish the run — clean-up included, within
    /// ``SupervisorConfiguration/cleanupTimeout`` — even when the code ignores cancellation.
    func execute() async {
        do {
            try await markStarted()
            try startBudget()
        } catch {
            gate.close()
            await finish(.failure(error))
            return
        }
        let agent = descriptor.makeAgent()
        let tools = Tools(gate: gate, backend: self)
        let input = record.input
        let token = self.token
        work.begin()
        let task = Task {
            let outcome: Result<JSONValue, any Error>
            do {
                outcome = .success(try await CancelToken.$current.withValue(token) { try await agent.run(input: input, tools: tools) })
            } catch {
                outcome = .failure(error)
            }
            if self.work.end(with: outcome) { self.environment.live.releaseSlot() }
        }
        // Waited for in a task of its own: the task this runs in (a parent's, for a child run)
        // may be cancelled by the parent's own code — a sibling of its `async let` threw — and
        // that must not end this run. Only the supervisor cuts a run short, and it cuts every
        // run of the subtree it forces or interrupts.
        let work = self.work
        await Task { await firstOf(work.ended, work.cut) }.value
        if work.cut.isOpen {
            // A new task: the calling one may be cancelled, and the store writes that end the
            // run must not be.
            await Task { await self.endCutShort(task: task, agent: agent) }.value
            return
        }
        gate.close()
        await CancelToken.$current.withValue(token) { await agent.cleanup() }
        // Events are written in batches: before the outcome stands, everything the run
        // logged must be durable. If it is not, the run failed, whatever it returned.
        var checked = work.outcome ?? .failure(CancellationError())
        do {
            try await log.flush()
        } catch {
            checked = .failure(EventWriteFailed(reason: RunText.describe(error)))
        }
        await finish(checked)
    }

    /// Records the start. A run whose start cannot be written (a full disk, a read-only
    /// database) fails at once with the reason.
    private func markStarted() async throws {
        state.withLock { $0.record.startedAt = Date() }
        try await persistOrThrow()
        let record = self.record
        var data: [String: JSONValue] = ["agent": .string(record.agent), "input": record.input]
        if let parent = record.parentRunID { data["parentRunId"] = .string(parent.rawValue) }
        try emit(.runStarted, "Started agent \(record.agent)", data)
    }

    /// Writes the final status once the agent's code (and cleanup) ended, unless a force stop
    /// or shutdown already did.
    private func finish(_ outcome: Result<JSONValue, any Error>) async {
        // A replay that diverged ends the run failed, whatever the agent made of the error.
        let outcome = replay?.divergence.map { .failure($0) } ?? outcome
        let ending: RunLifecycle.Ending
        switch outcome {
        case .success: ending = gate.firstStop == nil ? .returned : .returnedAfterStop
        case .failure(is EventWriteFailed): ending = .failedToLog
        case .failure(let error as AgentStopped):
            _ = gate.stopped(at: error.boundary)
            ending = .threwStop
        case .failure: ending = .threwError
        }
        let ended = end(
            { $0.finish(ending) },
            finalize: { record, status in
                switch (status, outcome) {
                case (.succeeded, .success(let value)): record.result = value
                case (.failed, .failure(let error)): record.error = RunText.describe(error)
                default: break
                }
            }
        )
        guard ended else { return }
        await complete()
    }

    /// Appends an event of this run to its tree's log, unless the run has already ended (a
    /// force-stopped run's cancelled work may still be unwinding).
    /// - Throws: ``EventWriteFailed`` when the log refuses the event: the tool that emitted
    ///   it throws, so the run ends `failed` with the reason rather than going on unlogged.
    func emit(_ kind: EventKind, _ message: String, _ data: [String: JSONValue] = [:]) throws {
        guard !isTerminal, !work.dropsEvents else {
            environment.logger.debug("event after the run ended dropped", metadata: ["run": "\(id)", "kind": "\(kind.rawValue)"])
            return
        }
        do {
            try log.append(EventDraft(runID: id, kind: kind, message: message, data: data))
        } catch {
            environment.logger.error(
                "could not log event",
                metadata: ["run": "\(id)", "kind": "\(kind.rawValue)", "error": "\(error)"]
            )
            throw EventWriteFailed(reason: RunText.describe(error))
        }
    }

    /// The entry check of a boundary, run as one step with its first event (in the log's
    /// ``EventLog/append(after:)`` or ``EventLog/admit(_:)``): besides the gate's rule, a run
    /// whose stop is being recorded (already `stopping`, its token not yet set) refuses too.
    func admit(_ boundary: Boundary) throws {
        guard !isTerminal, !work.dropsEvents else { throw CancellationError() }
        try gate.enter(boundary)
        if record.status == .stopping { throw gate.stopped(at: boundary) }
    }

    /// Logs the first event of a boundary in one step with its entry check.
    /// - Throws: ``AgentStopped`` (nothing logged), or ``EventWriteFailed``.
    @discardableResult
    func emitEntering(
        _ boundary: Boundary,
        _ kind: EventKind,
        _ message: String,
        _ data: [String: JSONValue],
        also: () throws -> Void = {}
    ) throws -> ProgressEvent {
        try logging {
            try log.append {
                try admit(boundary)
                try also()
                return EventDraft(runID: id, kind: kind, message: message, data: data)
            }
        }
    }

    /// Runs a log operation, turning the log's own errors into ``EventWriteFailed`` and
    /// letting the entry check's through.
    @discardableResult
    func logging<T>(_ operation: () throws -> T) throws -> T {
        do {
            return try operation()
        } catch let error as AgentStopped {
            throw error
        } catch let error as ToolsClosed {
            throw error
        } catch let error as CallBudgetReached {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            environment.logger.error("could not log event", metadata: ["run": "\(id)", "error": "\(error)"])
            throw EventWriteFailed(reason: RunText.describe(error))
        }
    }

    /// Writes the run's latest record; returns whether it was written. Writes of one run are
    /// serialised, and each writes the state current when its turn comes, so the store never
    /// goes back to an older status.
    @discardableResult
    func persist() async -> Bool {
        do {
            try await persistOrThrow()
            // The store takes writes again: the final records it refused before go in now.
            if !environment.live.unsaved.isEmpty { await environment.live.unsaved.retry(into: environment.runStore) }
            return true
        } catch {
            environment.logger.error("could not save run record", metadata: ["run": "\(id)", "error": "\(error)"])
            return false
        }
    }

    private func persistOrThrow() async throws {
        try await recordWrites.run {
            try await environment.runStore.updateRun(record)
        }
    }
}
