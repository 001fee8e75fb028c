import Foundation
import TetherCore

extension RunSupervisor {
    /// Runs `run` to its end in the calling task: root runs in the supervisor's group, child
    /// runs inside their parent's task. The agent's work races the run's force signal, so a
    /// force stop can cancel that work without cancelling the caller.
    func execute(_ run: LiveRun) async {
        do {
            try await markStarted(run)
        } catch {
            run.closeTools()
            await finish(run, outcome: .failure(error))
            return
        }
        let agent = run.descriptor.makeAgent()
        let tools = Tools(backend: RunContext(run: run, supervisor: self))
        let input = run.record.input
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let outcome: Result<JSONValue, any Error>
                do {
                    let result = try await CancelToken.$current.withValue(run.token) {
                        try await agent.run(input: input, tools: tools)
                    }
                    outcome = .success(result)
                } catch {
                    outcome = .failure(error)
                }
                run.closeTools()
                await CancelToken.$current.withValue(run.token) { await agent.cleanup() }
                // Events are written in batches: before the outcome stands, everything the run
                // logged must be durable. If it is not, the run failed, whatever it returned.
                var checked = outcome
                do {
                    try await run.log.flush()
                } catch {
                    checked = .failure(EventWriteFailed(reason: Self.describe(error)))
                }
                await self.finish(run, outcome: checked)
            }
            group.addTask { await run.forceSignal.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Records the start. A run whose start cannot be written (a full disk, a read-only
    /// database) fails at once with the reason.
    private func markStarted(_ run: LiveRun) async throws {
        run.update { $0.startedAt = Date() }
        try await persistOrThrow(run)
        let record = run.record
        var data: [String: JSONValue] = ["agent": .string(record.agent), "input": record.input]
        if let parent = record.parentRunID { data["parentRunId"] = .string(parent.rawValue) }
        try await emit(run, .runStarted, "Started agent \(record.agent)", data)
    }

    /// Writes the final status once `run`'s code (and cleanup) ended, unless a force stop
    /// or shutdown already did.
    private func finish(_ run: LiveRun, outcome: Result<JSONValue, any Error>) async {
        let ending: RunLifecycle.Ending
        switch outcome {
        case .success: ending = .returned
        case .failure(let error as AgentStopped):
            run.noteStop(at: error.boundary)
            ending = .threwStop
        case .failure: ending = .threwError
        }
        let action = run.transition({ $0.finish(ending) }) { record, action in
            guard case .markFinished(let status) = action else { return }
            record.finishedAt = Date()
            switch (status, outcome) {
            case (.succeeded, .success(let value)): record.result = value
            case (.failed, .failure(let error)): record.error = Self.describe(error)
            default: break
            }
        }
        guard case .markFinished = action else { return }
        await complete(run, extra: [:])
    }

    /// Logs `run.finished` (durably), persists the terminal record, and lets go of the run
    /// (and of its tree, for a root). Called once per run, by whoever made it terminal.
    func complete(_ run: LiveRun, extra: [String: JSONValue]) async {
        let record = run.record
        var data = extra
        data["status"] = .string(record.status.rawValue)
        var message: String
        switch record.status {
        case .succeeded: message = "Run succeeded"
        case .failed: message = "Run failed: \(record.error ?? "unknown error")"
        case .stopped:
            if record.forced {
                message = "Run force-stopped"
            } else if let boundary = run.stopBoundary {
                data["boundary"] = .string(boundary.rawValue)
                message = "Run stopped at the \(boundary.rawValue) boundary"
            } else {
                message = "Run stopped"
            }
        case .interrupted: message = "Run interrupted"
        case .running, .stopping: message = "Run ended"
        }
        if let started = record.startedAt, let finished = record.finishedAt {
            message += " after " + Self.format(seconds: finished.timeIntervalSince(started))
        }
        if record.forced { data["forced"] = true }
        if let error = record.error { data["error"] = .string(error) }
        do {
            try run.log.append(EventDraft(runID: run.id, kind: .runFinished, message: message, data: data))
            try await run.log.flush()
        } catch {
            logger.error("could not log run.finished", metadata: ["run": "\(run.id)", "error": "\(error)"])
        }
        let persisted = await persist(run)
        run.token.detachFromParent()
        state.withLock { state in
            state.live[run.id] = nil
            if run.isRoot { state.rootsInFlight -= 1 }
            // The store could not take the final record: keep it, so the run does not read
            // as still running (a restart marks it interrupted).
            if !persisted { state.unsaved[run.id] = record }
        }
        if run.isRoot {
            await run.log.close()
            hub.retire(root: run.id)
        }
        run.finished.open()
        logger.info(
            "run finished",
            metadata: ["run": "\(run.id)", "agent": "\(record.agent)", "status": "\(record.status.rawValue)"])
    }

    /// Writes the run's latest record; returns whether it was written. Writes of one run are
    /// serialised, and each writes the state current when its turn comes, so the store never
    /// goes back to an older status.
    @discardableResult
    func persist(_ run: LiveRun) async -> Bool {
        do {
            try await persistOrThrow(run)
            return true
        } catch {
            logger.error("could not save run record", metadata: ["run": "\(run.id)", "error": "\(error)"])
            return false
        }
    }

    func persistOrThrow(_ run: LiveRun) async throws {
        try await run.recordWrites.run {
            try await runStore.updateRun(run.record)
        }
    }

    /// Appends an event of `run` to its tree's log, unless the run has already ended (a
    /// force-stopped run's cancelled work may still be unwinding).
    /// - Throws: ``EventWriteFailed`` when the store refuses the event: the tool that emitted
    ///   it throws, so the run ends `failed` with the reason rather than going on unlogged.
    func emit(_ run: LiveRun, _ kind: EventKind, _ message: String, _ data: [String: JSONValue] = [:]) async throws {
        guard !run.isTerminal else {
            logger.debug("event after the run ended dropped", metadata: ["run": "\(run.id)", "kind": "\(kind.rawValue)"])
            return
        }
        do {
            try run.log.append(EventDraft(runID: run.id, kind: kind, message: message, data: data))
        } catch {
            logger.error("could not log event", metadata: ["run": "\(run.id)", "kind": "\(kind.rawValue)", "error": "\(error)"])
            throw EventWriteFailed(reason: String(describing: error))
        }
    }

    /// Runs agent `name` as a child of `parent`, inside the calling (parent's) task.
    func runChild(of parent: LiveRun, agent name: String, input: JSONValue) async throws -> JSONValue {
        guard let descriptor = registry[name] else { throw UnknownAgent(name: name) }
        let depth = parent.depth + 1
        guard depth <= configuration.maxDepth else {
            throw NestingTooDeep(agent: name, maxDepth: configuration.maxDepth)
        }
        let input = try descriptor.validatedInput(input)
        let parentRecord = parent.record
        let record = RunRecord(
            id: RunID(), agent: name, input: input, parentRunID: parent.id,
            rootRunID: parentRecord.rootRunID, depth: depth, createdAt: Date())
        // Logged before the child exists: if the log refuses it, nothing is left behind.
        try await emit(
            parent, .agentCalled, "Calling agent \(name)",
            ["runId": .string(record.id.rawValue), "agent": .string(name), "input": input])
        let token = parent.token.makeChild()
        do {
            try await runStore.insertRun(record)
        } catch {
            token.detachFromParent()
            throw error
        }
        let child = LiveRun(record: record, descriptor: descriptor, token: token, log: parent.log)
        state.withLock { $0.live[child.id] = child }
        parent.addChild(child.id)
        // A stop of an ancestor that came before the child was listed: the child's token is
        // already stopped (made from the parent's); its record says so too.
        if parent.token.isStopRequested, case .markStopping = child.transition({ $0.requestStop(at: Date()) }) {
            await persist(child)
        }
        await execute(child)
        let final = child.record
        try await emit(
            parent, .agentReturned, "Agent \(name) \(final.status.rawValue)",
            ["runId": .string(child.id.rawValue), "agent": .string(name), "status": .string(final.status.rawValue)])
        switch final.status {
        case .succeeded:
            return final.result ?? .null
        case .stopped where parent.token.isStopRequested:
            parent.noteStop(at: .agentsCall)
            throw AgentStopped(boundary: .agentsCall)
        case .stopped:
            throw SubRunStopped(childRunID: child.id, agent: name)
        case .failed, .interrupted, .running, .stopping:
            throw SubRunFailed(
                childRunID: child.id, agent: name, status: final.status, message: final.error ?? "no message")
        }
    }

    static func describe(_ error: any Error) -> String {
        String(describing: error)
    }

    static func format(seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        return String(format: "%.1f s", seconds)
    }
}
