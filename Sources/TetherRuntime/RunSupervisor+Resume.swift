import Foundation
import Logging
import TetherCore

/// Resuming what a stop, a failure or a crash cut short (`POST /runs/{id}/resume`).
extension RunSupervisor {
    /// Starts a new root run of the same agent and input as root run `id`, which replays
    /// `id`'s journal (``RunReplay``) and goes live at the first boundary the journal does
    /// not hold; the new record names `id` in `resumedFrom`.
    ///
    /// A `stopped`, `failed` or `interrupted` root run can be resumed; with `seq` (a fork)
    /// any finished root run, `succeeded` included, replaying only the boundaries logged
    /// before event `seq`.
    /// - Throws: ``SupervisorError/notFound(_:)``, ``SupervisorError/notResumable(_:_:reason:)``,
    ///   ``SupervisorError/invalidInput(_:)`` for a `seq` outside the log or an input the
    ///   agent no longer accepts, ``SupervisorError/unknownAgent(_:)`` for an agent gone
    ///   since, and what ``start(agent:input:coercingStrings:)`` throws.
    public func resume(_ id: RunID, at seq: Int? = nil) async throws(SupervisorError) -> RunRecord {
        let (record, events) = try await resumable(id, at: seq)
        guard let descriptor = environment.registry[record.agent] else { throw .unknownAgent(record.agent) }
        let input: JSONValue
        do { input = try descriptor.validatedInput(record.input) } catch {
            throw .invalidInput("agent \(record.agent) no longer takes the input of run \(id): \(error.description)")
        }
        let journal = Journal(events: events.filter { seq == nil || $0.seq < seq! })
        return try await launch(descriptor, input: input, replay: RunReplay(journal: journal, source: id, agent: record.agent))
    }

    /// Resumes each root run of `records` that ended `interrupted`, when the settings say so
    /// (``SupervisorConfiguration/resumesInterrupted``). The caller passes only the runs it
    /// marked itself, so each is resumed once, by one instance. Returns the new runs.
    @discardableResult
    public func resumeInterrupted(_ records: [RunRecord]) async -> [RunRecord] {
        guard environment.configuration.resumesInterrupted else { return [] }
        var resumed: [RunRecord] = []
        for record in records where record.isRoot && record.status == .interrupted {
            do {
                let run = try await resume(record.id)
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

    /// The run to resume and its tree's whole log, once the run is checked resumable.
    private func resumable(_ id: RunID, at seq: Int?) async throws(SupervisorError) -> (RunRecord, [ProgressEvent]) {
        do {
            // A run ending here: its last events and final record are being written.
            if let run = live[id], run.record.status.isTerminal { await run.finished.wait() }
            guard let record = try await reads.record(id) else { throw SupervisorError.notFound(id) }
            if !record.isRoot {
                throw SupervisorError.notResumable(
                    id,
                    record.status,
                    reason: "run \(id) is a child run: resume its root run \(record.rootRunID), which resumes inside it"
                )
            }
            switch (record.status, seq) {
            case (.running, _), (.stopping, _):
                throw SupervisorError.notResumable(
                    id,
                    record.status,
                    reason: "run \(id) is still \(record.status.rawValue): stop it, or wait for its end, then resume it"
                )
            case (.succeeded, nil):
                throw SupervisorError.notResumable(
                    id,
                    record.status,
                    reason: "run \(id) succeeded: there is nothing to resume (to redo it from a step, resume it at that step's event: ?at=SEQ)"
                )
            default: break
            }
            var events: [ProgressEvent] = []
            while true {
                let page = try await environment.runStore.events(inTree: id, after: events.last?.seq ?? 0, limit: 1_000)
                events += page
                if page.count < 1_000 { break }
            }
            if let seq, !(1...max(events.last?.seq ?? 0, 1)).contains(seq) {
                throw SupervisorError.invalidInput("at must be the seq of an event of run \(id), from 1 to \(events.last?.seq ?? 0), not \(seq)")
            }
            return (record, events)
        } catch let error as SupervisorError {
            throw error
        } catch let error as UnreadableRecord {
            throw .unreadable(error)
        } catch {
            throw .storage(String(describing: error))
        }
    }
}
