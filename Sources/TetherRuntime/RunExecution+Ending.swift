import Foundation
import TetherCore

extension RunExecution {
    /// Marks the run `stopping` if it is `running`, for `reason`; returns what the state
    /// machine said.
    func markStopping(at date: Date, reason: StopReason) -> RunLifecycle.StopAction {
        transition(
            { $0.requestStop(at: date) },
            also: { record, action in
                if case .markStopping = action { record.stopReason = reason }
            }
        )
    }

    /// Ends a run whose work was cut short (``RunWork/cutShort(_:)``): cancels that work,
    /// waits for it to unwind, runs the agent's `cleanup()`, then writes the final record —
    /// `stopped` and `forced`, or `interrupted`. Waiting and clean-up together are bounded by
    /// ``SupervisorConfiguration/cleanupTimeout`` (clean-up gets at least a second), so code
    /// that ignores cancellation cannot hold the run, or shutdown, forever. Runs in a task
    /// that is not cancelled.
    func endCutShort(task: Task<Void, Never>, agent: any Agent) async {
        task.cancel()
        let timeout = environment.configuration.cleanupTimeout
        let deadline = ContinuousClock.now + timeout
        if await !within(timeout, { await self.work.ended.wait() }) {
            environment.logger.warning(
                "the agent's code did not unwind after its run was cut short",
                metadata: ["run": "\(id)"]
            )
        }
        gate.close()
        work.acceptEvents()
        let token = self.token
        let left = max(deadline - ContinuousClock.now, .seconds(1))
        if await !within(left, { await CancelToken.$current.withValue(token) { await agent.cleanup() } }) {
            environment.logger.warning("the agent's cleanup did not end in time", metadata: ["run": "\(id)"])
        }
        await endAbruptly(work.abruptEnding ?? .forced)
    }

    /// Writes the final record of a run cut short (or one that never got to execute).
    func endAbruptly(_ ending: RunWork.AbruptEnding) async {
        switch ending {
        case .forced:
            if end({ $0.force() }) { await complete(extra: ["reason": "force"]) }
        case .interrupted:
            let ended = end(
                { $0.interrupt() },
                finalize: { record, _ in record.error = "interrupted: the server shut down before the run stopped" }
            )
            if ended { await complete(extra: ["reason": "shutdown"]) }
        }
    }

    /// Feeds an ending to the state machine. If it made the run terminal, stamps
    /// `finishedAt`, lets `finalize` complete the record under the same lock, and returns
    /// `true`: the caller then owes the run its ``complete(extra:)``.
    func end(
        _ ending: (inout RunLifecycle) -> RunLifecycle.FinishAction,
        finalize: (inout RunRecord, RunStatus) -> Void = { _, _ in }
    ) -> Bool {
        let action = transition(
            ending,
            also: { record, action in
                guard case .markFinished(let status) = action else { return }
                record.finishedAt = Date()
                finalize(&record, status)
            }
        )
        return action != .ignore
    }

    /// Logs `run.finished` (durably) with the final status, result and error, persists the
    /// terminal record, and lets go of the run (and of its tree, for a root). Called once per
    /// run, by whoever made it terminal.
    func complete(extra: [String: JSONValue] = [:]) async {
        let record = self.record
        let event = Self.finishedEvent(of: record, stopBoundary: gate.firstStop, extra: extra)
        do {
            try log.append(EventDraft(runID: id, kind: .runFinished, message: event.message, data: event.data))
            try await log.flush()
        } catch {
            environment.logger.error("could not log run.finished", metadata: ["run": "\(id)", "error": "\(error)"])
        }
        let persisted = await persist()
        token.detachFromParent()
        // The store could not take the final record: keep it, so the run does not read as
        // still running (a restart marks it interrupted).
        environment.live.remove(self, unsaved: persisted ? nil : record)
        if work.complete(), isRoot { environment.live.releaseSlot() }
        if isRoot {
            await log.close()
            environment.hub.retire(root: id)
        }
        finished.open()
        environment.logger.info(
            "run finished",
            metadata: ["run": "\(id)", "agent": "\(record.agent)", "status": "\(record.status.rawValue)"]
        )
    }

    /// The message and data of a terminal record's `run.finished` event (DESIGN §3): the
    /// status, the result or error, and for a stopped run the boundary that threw.
    static func finishedEvent(
        of record: RunRecord,
        stopBoundary: Boundary?,
        extra: [String: JSONValue]
    ) -> (message: String, data: [String: JSONValue]) {
        typealias Key = ProgressEvent.Key
        var data = extra
        data[Key.status] = .string(record.status.rawValue)
        var message: String
        switch record.status {
        case .succeeded:
            message = "Run succeeded"
            data[Key.result] = record.result ?? .null
        case .failed: message = "Run failed: \(record.error ?? "unknown error")"
        case .stopped:
            if record.forced {
                message = "Run force-stopped"
            } else if let stopBoundary {
                data[Key.boundary] = .string(stopBoundary.rawValue)
                message = "Run stopped at the \(stopBoundary.rawValue) boundary"
            } else {
                message = "Run stopped"
            }
            if let explanation = record.stopReason?.explanation { message += " (\(explanation))" }
        case .interrupted: message = "Run interrupted"
        case .running, .stopping: message = "Run ended"
        }
        if let started = record.startedAt, let finished = record.finishedAt {
            message += " after " + RunText.format(seconds: finished.timeIntervalSince(started))
        }
        if record.forced { data[Key.forced] = true }
        if let error = record.error { data[Key.error] = .string(error) }
        if let usage = record.usage { data[Key.usage] = usage.json }
        if let reason = record.stopReason { data[Key.stopReason] = reason.json }
        return (message, data)
    }
}

/// How run events word errors and durations.
enum RunText {
    static func describe(_ error: any Error) -> String {
        String(describing: error)
    }

    /// `850 ms`, `2.4 s`.
    static func format(seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        return String(format: "%.1f s", seconds)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
