import Foundation
import TetherCore

extension RunSupervisor {
    /// Runs `run` to its end in the calling task: root runs in the supervisor's group, child
    /// runs inside their parent's task. The agent's work races the run's force signal, so a
    /// force stop can cancel that work without cancelling the caller.
    func execute(_ run: LiveRun) async {
        await markStarted(run)
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
                await self.finish(run, outcome: outcome)
            }
            group.addTask { await run.forceSignal.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    private func markStarted(_ run: LiveRun) async {
        run.update { $0.startedAt = Date() }
        await persist(run)
        let record = run.record
        var data: [String: JSONValue] = ["agent": .string(record.agent), "input": record.input]
        if let parent = record.parentRunID { data["parentRunId"] = .string(parent.rawValue) }
        await emit(run, .runStarted, "Started agent \(record.agent)", data)
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

    /// Persists a terminal record, logs `run.finished`, and lets go of the run (and of its
    /// tree, for a root). Called once per run, by whoever made it terminal.
    func complete(_ run: LiveRun, extra: [String: JSONValue]) async {
        await persist(run)
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
            try await run.log.append(EventDraft(runID: run.id, kind: .runFinished, message: message, data: data))
        } catch {
            logger.error("could not log run.finished", metadata: ["run": "\(run.id)", "error": "\(error)"])
        }
        run.token.detachFromParent()
        state.withLock { state in
            state.live[run.id] = nil
            if run.isRoot { state.rootsInFlight -= 1 }
        }
        if run.isRoot {
            run.log.close()
            hub.retire(root: run.id)
        }
        run.finished.open()
        logger.info(
            "run finished",
            metadata: ["run": "\(run.id)", "agent": "\(record.agent)", "status": "\(record.status.rawValue)"])
    }

    /// Writes the run's latest record. Writes of one run are serialised, and each writes the
    /// state current when its turn comes, so the store never goes back to an older status.
    func persist(_ run: LiveRun) async {
        await run.recordWrites.run {
            do {
                try await runStore.updateRun(run.record)
            } catch {
                logger.error("could not save run record", metadata: ["run": "\(run.id)", "error": "\(error)"])
            }
        }
    }

    /// Appends an event of `run` to its tree's log, unless the run has already ended (a
    /// force-stopped run's cancelled work may still be unwinding).
    func emit(_ run: LiveRun, _ kind: EventKind, _ message: String, _ data: [String: JSONValue] = [:]) async {
        guard !run.isTerminal else {
            logger.debug("event after the run ended dropped", metadata: ["run": "\(run.id)", "kind": "\(kind.rawValue)"])
            return
        }
        do {
            try await run.log.append(EventDraft(runID: run.id, kind: kind, message: message, data: data))
        } catch {
            logger.error("could not log event", metadata: ["run": "\(run.id)", "error": "\(error)"])
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
        let child = LiveRun(record: record, descriptor: descriptor, token: parent.token.makeChild(), log: parent.log)
        try await runStore.insertRun(record)
        state.withLock { $0.live[child.id] = child }
        parent.addChild(child.id)
        // A stop of an ancestor that came before the child was listed: the child's token is
        // already stopped (made from the parent's); its record says so too.
        if parent.token.isStopRequested, case .markStopping = child.transition({ $0.requestStop(at: Date()) }) {
            await persist(child)
        }
        await emit(
            parent, .agentCalled, "Calling agent \(name)",
            ["runId": .string(child.id.rawValue), "agent": .string(name), "input": input])
        await execute(child)
        let final = child.record
        await emit(
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
