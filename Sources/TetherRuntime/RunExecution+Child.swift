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
        let record = RunRecord(
            id: RunID(),
            agent: name,
            input: input,
            parentRunID: id,
            rootRunID: self.record.rootRunID,
            depth: depth,
            createdAt: Date()
        )
        // Logged before the child exists: if the log refuses it, nothing is left behind.
        try emit(
            .agentCalled,
            "Calling agent \(name)",
            [ProgressEvent.Key.runID: .string(record.id.rawValue), "agent": .string(name), "input": input]
        )
        let token = self.token.makeChild()
        do {
            try await environment.runStore.insertRun(record)
        } catch {
            token.detachFromParent()
            throw error
        }
        let child = RunExecution(record: record, descriptor: descriptor, token: token, log: log, environment: environment)
        environment.live.add(child: child)
        addChild(child.id)
        // A stop of an ancestor that came before the child was listed: the child's token is
        // already stopped (made from this run's); its record says so too.
        if self.token.isStopRequested, case .markStopping = child.markStopping(at: Date()) {
            await child.persist()
        }
        await child.execute()
        let final = child.record
        try emit(
            .agentReturned,
            "Agent \(name) \(final.status.rawValue)",
            [
                ProgressEvent.Key.runID: .string(child.id.rawValue), "agent": .string(name),
                ProgressEvent.Key.status: .string(final.status.rawValue),
            ]
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
}
