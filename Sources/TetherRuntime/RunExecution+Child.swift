import Foundation
import TetherCore

extension RunExecution {
    /// Runs agent `name` as a child of this run, inside the calling (this run's) task, with a
    /// token made from this run's, so a stop of this run reaches it.
    /// - Throws: ``AgentStopped`` when this run stopped with the child, ``SubRunStopped``
    ///   when the child alone was stopped, ``SubRunFailed``, ``UnknownAgent``,
    ///   ``NestingTooDeep``, or the input's ``InputError``.
    func runChild(agent name: String, input: JSONValue) async throws -> JSONValue {
        let configuration = environment.configuration
        guard let descriptor = environment.registry[name] else { throw UnknownAgent(name: name) }
        let depth = self.depth + 1
        guard depth <= configuration.maxDepth else {
            throw NestingTooDeep(agent: name, maxDepth: configuration.maxDepth)
        }
        let input = try descriptor.validatedInput(input)
        let call = JournalCall.agent(name: name, input: input)
        var childReplay: RunReplay?
        switch try replayStep(call) {
        case .replay(let entry, let recorded):
            guard case .result(let result) = try logReplayed(entry, recorded, label: nil) else { throw unreadableEntry(call) }
            return result
        case .liveInChild(let replay): childReplay = replay
        case .live: break
        }
        let record = RunRecord(
            id: RunID(),
            agent: name,
            input: input,
            parentRunID: id,
            rootRunID: self.record.rootRunID,
            depth: depth,
            createdAt: Date(),
            instance: environment.instanceID,
            resumedFrom: childReplay?.source
        )
        let token = self.token.makeChild()
        let child = RunExecution(record: record, descriptor: descriptor, token: token, log: log, environment: environment, replay: childReplay)
        do {
            // The call's entry check, its event and the child's listing are one step: a stop
            // being recorded for this run either lists the child (and marks it stopping) or
            // makes the call throw. If the log refuses the event, nothing is left behind.
            try emitEntering(
                .agentsCall,
                .agentCalled,
                "Calling agent \(name)",
                [ProgressEvent.Key.runID: .string(record.id.rawValue), "agent": .string(name), "input": input],
                also: {
                    environment.live.add(child: child)
                    addChild(child.id)
                }
            )
        } catch {
            token.detachFromParent()
            throw error
        }
        do {
            // Its current record: a stop recorded since has already made it `stopping`.
            try await environment.runStore.insertRun(child.record)
        } catch {
            token.detachFromParent()
            environment.live.remove(child, unsaved: nil)
            throw error
        }
        await child.execute()
        let final = child.record
        try emit(
            .agentReturned,
            "Agent \(name) \(final.status.rawValue)",
            Self.returnedData(final)
        )
        switch final.status {
        case .succeeded:
            return final.result ?? .null
        case .stopped where self.token.isStopRequested:
            throw gate.stopped(at: .agentsCall)
        case .stopped:
            throw SubRunStopped(childRunID: child.id, agent: name)
        case .failed, .interrupted, .running, .stopping:
            throw SubRunFailed(
                childRunID: child.id,
                agent: name,
                status: final.status,
                message: final.error ?? "no message"
            )
        }
    }

    /// What `agent.returned` says of the child's end: its status, and its result or error,
    /// which the journal keeps for the caller's `agents.call`.
    static func returnedData(_ final: RunRecord) -> [String: JSONValue] {
        var data: [String: JSONValue] = [
            ProgressEvent.Key.runID: .string(final.id.rawValue), "agent": .string(final.agent),
            ProgressEvent.Key.status: .string(final.status.rawValue),
        ]
        if final.status == .succeeded {
            data[ProgressEvent.Key.result] = final.result ?? .null
        } else if let error = final.error {
            data[ProgressEvent.Key.error] = .string(error)
        }
        return data
    }
}
