import Foundation
import Logging
import Synchronization
import TetherCore

/// Resuming what a stop, a failure or a crash cut short (`POST /runs/{id}/resume`).
extension RunSupervisor {
    /// Starts a new root run of the same agent and input as root run `id`, which replays
    /// `id`'s journal (``RunReplay``) and goes live at the first boundary the journal does
    /// not hold; the new record names `id` in `resumedFrom`. It has `id`'s budget afresh: a
    /// replayed call costs nothing, so a run stopped by its budget goes on as far again.
    ///
    /// A `stopped`, `failed` or `interrupted` root run can be resumed, once; with `seq` (a
    /// fork, `forkedAt` in the record) any finished root run, `succeeded` included, any
    /// number of times, replaying only the boundaries logged before event `seq`.
    /// - Throws: ``SupervisorError/notFound(_:)``, ``SupervisorError/notResumable(_:_:reason:)``
    ///   (in flight, a child run, succeeded without `seq`, resumed already),
    ///   ``SupervisorError/invalidInput(_:)`` for a `seq` outside the log or an input the
    ///   agent no longer accepts, ``SupervisorError/unknownAgent(_:)`` for an agent gone
    ///   since, and what ``start(agent:input:coercingStrings:)`` throws.
    public func resume(_ id: RunID, at seq: Int? = nil) async throws(SupervisorError) -> RunRecord {
        try await resume(id, at: seq, pastLimit: false)
    }

    private func resume(_ id: RunID, at seq: Int?, pastLimit: Bool) async throws(SupervisorError) -> RunRecord {
        let (record, journal) = try await resumable(id, at: seq)
        guard let descriptor = environment.registry[record.agent] else { throw .unknownAgent(record.agent) }
        let input: JSONValue
        do { input = try descriptor.validatedInput(record.input) } catch {
            throw .invalidInput("agent \(record.agent) no longer takes the input of run \(id): \(error.description)")
        }
        let continuation = Continuation(run: id, forkedAt: seq, replay: journal)
        guard seq == nil else {
            return try await launch(descriptor, input: input, budget: record.budget, continuing: continuation, pastLimit: pastLimit)
        }
        // A run is resumed whole once: two presses of Resume, or Resume after the automatic
        // resume, must not pay twice for what comes after the journal. One process claims
        // the run here; the store's unique index settles a race between instances.
        guard resuming.withLock({ $0.insert(id).inserted }) else { throw alreadyResumed(record, as: nil) }
        defer { _ = resuming.withLock { $0.remove(id) } }
        if let existing = try await storedResumption(of: id) { throw alreadyResumed(record, as: existing.id) }
        do {
            return try await launch(descriptor, input: input, budget: record.budget, continuing: continuation, pastLimit: pastLimit)
        } catch {
            if case .storage = error, let existing = try await storedResumption(of: id) { throw alreadyResumed(record, as: existing.id) }
            throw error
        }
    }

    /// Resumes each root run of `records` that ended `interrupted`, when the settings say so
    /// (``SupervisorConfiguration/resumesInterrupted``). The caller passes only the runs it
    /// marked itself, and a run is resumed whole once, so each is resumed once, by one
    /// instance. Left alone: a run someone had asked to stop (it was `stopping`), and one
    /// whose last three runs all ended interrupted (an agent that takes the process down).
    /// Resumed runs are admitted past `TETHER_MAX_RUNS`: they were admitted once already.
    /// Returns the new runs.
    @discardableResult
    public func resumeInterrupted(_ records: [RunRecord]) async -> [RunRecord] {
        guard environment.configuration.resumesInterrupted else { return [] }
        var resumed: [RunRecord] = []
        for record in records where record.isRoot && record.status == .interrupted {
            guard record.stopRequestedAt == nil else {
                logger.info("an interrupted run whose stop was requested is not resumed", metadata: ["run": "\(record.id)"])
                continue
            }
            if await interruptedInARow(record) >= Self.interruptionsBeforeGivingUp {
                logger.warning(
                    "an interrupted run is not resumed: its last \(Self.interruptionsBeforeGivingUp) runs were all interrupted",
                    metadata: ["run": "\(record.id)"]
                )
                continue
            }
            do {
                let run = try await resume(record.id, at: nil, pastLimit: true)
                resumed.append(run)
                logger.info("resumed an interrupted run", metadata: ["run": "\(run.id)", "resumedFrom": "\(record.id)"])
            } catch {
                logger.warning(
                    "could not resume an interrupted run: it stays interrupted",
                    metadata: ["run": "\(record.id)", "error": "\(error)"]
                )
            }
        }
        return resumed
    }

    /// How many interrupted runs in a row end the chain of resumes that leads to `record`.
    static let interruptionsBeforeGivingUp = 3

    private func interruptedInARow(_ record: RunRecord) async -> Int {
        var count = 1
        var current = record
        while count < Self.interruptionsBeforeGivingUp, let source = current.resumedFrom,
            let previous = try? await environment.runStore.run(source), previous.status == .interrupted
        {
            count += 1
            current = previous
        }
        return count
    }

    private func storedResumption(of id: RunID) async throws(SupervisorError) -> RunRecord? {
        do { return try await environment.runStore.resumption(of: id) } catch { throw .storage(String(describing: error)) }
    }

    private func alreadyResumed(_ record: RunRecord, as other: RunID?) -> SupervisorError {
        .notResumable(
            record.id,
            record.status,
            reason: other.map { "run \(record.id) was resumed already, as run \($0): resume that one (or fork this one with ?at=SEQ)" }
                ?? "run \(record.id) is being resumed already"
        )
    }

    /// The run to resume, once checked resumable, and the journal to replay.
    private func resumable(_ id: RunID, at seq: Int?) async throws(SupervisorError) -> (RunRecord, RunReplay) {
        do {
            guard var record = try await reads.record(id) else { throw SupervisorError.notFound(id) }
            // A run ending here: its last events and final record are being written.
            if let run = live[id] {
                guard record.status.isTerminal else { throw Self.inFlight(record) }
                await run.finished.wait()
                record = run.record
            }
            if !record.isRoot {
                throw SupervisorError.notResumable(
                    id,
                    record.status,
                    reason: "run \(id) is a child run: resume its root run \(record.rootRunID), which resumes inside it"
                )
            }
            if record.status.isInFlight { throw Self.inFlight(record) }
            if record.status == .succeeded, seq == nil {
                throw SupervisorError.notResumable(
                    id,
                    record.status,
                    reason: "run \(id) succeeded: there is nothing to resume (to redo it from a step, resume it at that step's event: ?at=SEQ)"
                )
            }
            let events = try await reads.loggedEvents(ofTree: id)
            if let seq, !(1...max(events.last?.seq ?? 0, 1)).contains(seq) {
                throw SupervisorError.invalidInput("at must be the seq of an event of run \(id), from 1 to \(events.last?.seq ?? 0), not \(seq)")
            }
            guard seq == nil else {
                return (record, RunReplay(journal: Journal(events: events.filter { $0.seq < seq! }), source: id, agent: record.agent))
            }
            // A resumed run that ended before it went live (stopped during its replay, or
            // diverged) holds only a part of its source's journal: its source's is replayed.
            var source = (record, events)
            while let previous = source.0.resumedFrom, !Self.wentLive(source.0.id, in: source.1),
                let earlier = try await environment.runStore.run(previous), earlier.status.isTerminal
            {
                let earlierEvents = try await reads.loggedEvents(ofTree: previous)
                source = (earlier, earlierEvents.filter { event in source.0.forkedAt.map { event.seq < $0 } ?? true })
            }
            return (record, RunReplay(journal: Journal(events: source.1), source: source.0.id, agent: record.agent))
        } catch let error as SupervisorError {
            throw error
        } catch let error as UnreadableRecord {
            throw .unreadable(error)
        } catch {
            throw .storage(String(describing: error))
        }
    }

    private static func inFlight(_ record: RunRecord) -> SupervisorError {
        .notResumable(
            record.id,
            record.status,
            reason: "run \(record.id) is still \(record.status.rawValue): stop it, or wait for its end, then resume it"
        )
    }

    /// Whether run `id` did any boundary live (not from a journal) in `events`.
    private static func wentLive(_ id: RunID, in events: [ProgressEvent]) -> Bool {
        events.contains { event in
            event.runID == id && [.llmStarted, .store, .agentCalled, .wait].contains(event.kind)
        }
    }

}
