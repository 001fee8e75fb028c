import Foundation
import TetherCore

extension RunSupervisor {
    /// Requests a cooperative stop of run `id` and every run below it, and returns the
    /// target's record (`stopping`). Returns at once: the run halts at its next boundary, and
    /// an LLM call in flight finishes first. Idempotent while the run is in flight.
    ///
    /// With `force`, the runs' work is then cancelled at once and they are recorded
    /// `stopped` with `forced: true`; nothing forces a run by itself.
    /// - Throws: ``SupervisorError/notFound(_:)``, or ``SupervisorError/runFinished(_:_:)``
    ///   with the final status when the run has already ended.
    @discardableResult
    public func stop(_ id: RunID, force: Bool = false) async throws(SupervisorError) -> RunRecord {
        guard let target = live[id] else {
            let stored: RunRecord?
            do {
                stored = try await reads.record(id)
            } catch let error as UnreadableRecord {
                throw .unreadable(error)
            } catch {
                throw .storage(String(describing: error))
            }
            guard let stored else { throw .notFound(id) }
            if stored.status.isInFlight, let cluster = environment.cluster, let executor = stored.instance,
                executor != cluster.instanceID
            {
                return try await requestRemoteStop(stored, executedBy: executor, cluster: cluster, force: force)
            }
            throw .runFinished(id, stored.status)
        }
        try await target.requestStop(reason: .requested)
        if force { await forceStop(target) }
        return target.record
    }

    /// Stops a run another instance executes: the stop is recorded in the database for that
    /// instance, which stops the run at its next boundary as if asked directly. Returns the
    /// record as it is about to be (`stopping`).
    private func requestRemoteStop(
        _ stored: RunRecord,
        executedBy executor: String,
        cluster: any RunCluster,
        force: Bool
    ) async throws(SupervisorError) -> RunRecord {
        do {
            try await cluster.requestStop(of: stored.id, executedBy: executor, force: force)
        } catch {
            throw .storage(String(describing: error))
        }
        logger.info("stop requested of another instance's run", metadata: ["run": "\(stored.id)", "instance": "\(executor)"])
        var record = stored
        var lifecycle = record.lifecycle
        if case .markStopping = lifecycle.requestStop(at: Date()) {
            record.status = lifecycle.status
            record.stopRequestedAt = lifecycle.stopRequestedAt
        }
        return record
    }

    /// Cuts `target` and its descendants short as `stopped` and `forced`: their work is
    /// cancelled (the LLM call in flight included), their `cleanup()` runs, and their final
    /// records are written by tasks that are not cancelled (``RunExecution/endCutShort``).
    /// Returns once the target's record is final, within the cleanup timeout.
    func forceStop(_ target: RunExecution) async {
        for run in live.subtree(of: target) { run.work.cutShort(.forced) }
        await target.finished.wait()
        logger.warning("run force-stopped", metadata: ["run": "\(target.id)"])
    }

    /// Stops, cooperatively, every run in flight that matches: of `agent` (if given), with
    /// `status` (if given; `running` leaves runs already stopping alone). A run whose
    /// ancestor also matches is reached through that ancestor, so each tree gets one request.
    /// - Returns: the runs asked to stop, oldest first.
    public func stopAll(agent: String? = nil, status: RunStatus? = nil) async -> [RunID] {
        let matching = live.all.filter { run in
            let record = run.record
            return record.status.isInFlight && (agent == nil || record.agent == agent)
                && (status == nil || record.status == status)
        }
        let ids = Set(matching.map(\.id))
        let targets =
            matching
            .filter { run in !live.ancestors(of: run).contains(where: ids.contains) }
            .sorted { $0.record.createdAt < $1.record.createdAt }
        var stopped: [RunID] = []
        for run in targets {
            do {
                try await run.requestStop(reason: .requested)
                stopped.append(run.id)
            } catch {
                // It ended meanwhile: nothing to stop.
            }
        }
        stopped += await stopAllElsewhere(agent: agent, status: status)
        logger.info("bulk stop", metadata: ["runs": "\(stopped.count)", "agent": "\(agent ?? "any")"])
        return stopped
    }

    /// The part of ``stopAll(agent:status:)`` that other instances execute: their running
    /// matches, each tree reached through its highest match, oldest first.
    private func stopAllElsewhere(agent: String?, status: RunStatus?) async -> [RunID] {
        guard let cluster = environment.cluster, status == nil || status == .running else { return [] }
        let running: [RunRecord]
        do {
            running = try await environment.runStore.listRuns(RunQuery(status: .running, limit: 100_000, includeChildren: true))
        } catch {
            logger.error("bulk stop could not list the other instances' runs", metadata: ["error": "\(error)"])
            return []
        }
        let elsewhere = running.filter { $0.instance != nil && $0.instance != cluster.instanceID && live[$0.id] == nil }
        let parents = Dictionary(elsewhere.map { ($0.id, $0.parentRunID) }, uniquingKeysWith: { first, _ in first })
        let matching = elsewhere.filter { agent == nil || $0.agent == agent }
        let ids = Set(matching.map(\.id))
        func hasMatchingAncestor(_ record: RunRecord) -> Bool {
            var next = record.parentRunID
            while let ancestor = next {
                if ids.contains(ancestor) { return true }
                next = parents[ancestor] ?? nil
            }
            return false
        }
        var stopped: [RunID] = []
        for record in matching.sorted(by: { $0.createdAt < $1.createdAt }) where !hasMatchingAncestor(record) {
            do {
                try await cluster.requestStop(of: record.id, executedBy: record.instance!, force: false)
                stopped.append(record.id)
            } catch {
                logger.error("bulk stop could not record a stop", metadata: ["run": "\(record.id)", "error": "\(error)"])
            }
        }
        return stopped
    }
}
