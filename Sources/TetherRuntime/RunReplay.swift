import Synchronization
import TetherCore

/// A resumed run's way through the journal of the run it continues (`POST /runs/{id}/resume`).
///
/// Each boundary the resumed run enters asks ``next(_:)`` first. While the journal holds an
/// ended boundary at that position and it is the same call (the same request, key, agent and
/// input, or wait), the boundary returns the recorded outcome and does nothing else. At the
/// first position the journal does not hold as ended — past its end, a boundary that had not
/// ended, or the error that ended the run — the run goes live for good. An `agents.call`
/// that goes live where the journal holds the child it was in, resumes inside that child.
///
/// A different call at a position the journal holds is a divergence: the run ends `failed`
/// with the position, what the journal held and what was asked, and every later boundary
/// throws the same error, so an agent that catches it cannot go on with wrong data.
///
/// Positions count per run, in the order boundaries begin: an agent makes the same calls in
/// the same order given the same results, as definitions do (the README says so for Swift
/// agents). Calls an agent makes concurrently are matched in the order they begin.
final class RunReplay: Sendable {
    let journal: Journal
    /// The run whose journal this replays.
    let source: RunID
    /// Its agent, for messages.
    let agent: String
    private let entries: [JournalEntry]
    private let state = Mutex(State())

    private struct State {
        var position = 0
        var isLive = false
        var divergence: ReplayDiverged?
    }

    /// What a boundary does at its position.
    enum Step {
        /// Returns the entry's recorded outcome, doing nothing.
        case replay(JournalEntry, JournalOutcome)
        /// Runs for real.
        case live
        /// An `agents.call` that runs its child for real, resuming it from the journal.
        case liveInChild(RunReplay)
    }

    init(journal: Journal, source: RunID, agent: String) {
        self.journal = journal
        self.source = source
        self.agent = agent
        entries = journal.entries(of: source)
    }

    /// How many boundaries the journal holds for the source run.
    var count: Int { entries.count }

    /// The divergence the run met, if it did.
    var divergence: ReplayDiverged? { state.withLock { $0.divergence } }

    /// Whether the run went live.
    var isLive: Bool { state.withLock { $0.isLive } }

    /// The step of the next boundary, `call`.
    /// - Throws: ``ReplayDiverged`` when the journal holds a different ended call there, or
    ///   the run diverged before.
    func next(_ call: JournalCall) throws(ReplayDiverged) -> Step {
        let step: Result<Step, ReplayDiverged> = state.withLock { state in
            if let divergence = state.divergence { return .failure(divergence) }
            if state.isLive { return .success(.live) }
            let position = state.position
            state.position += 1
            guard position < entries.count else {
                state.isLive = true
                return .success(.live)
            }
            let entry = entries[position]
            let endedTheRun = position == entries.count - 1
            switch entry.outcome {
            case nil,
                .failed? where endedTheRun:
                // Not replayed: nothing recorded is used, so a changed call just runs.
                state.isLive = true
                if let child = entry.child, entry.call == call, case .agent(let name, _) = call {
                    return .success(.liveInChild(RunReplay(journal: journal, source: child, agent: name)))
                }
                return .success(.live)
            case .some(let outcome):
                guard entry.call == call else {
                    let divergence = ReplayDiverged(position: position + 1, agent: agent, source: source, held: entry.call, asked: call)
                    state.divergence = divergence
                    return .failure(divergence)
                }
                return .success(.replay(entry, outcome))
            }
        }
        return try step.get()
    }
}

/// A resumed run asked for a different boundary than its journal holds at that position.
public struct ReplayDiverged: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1 for the run's first boundary.
    public var position: Int
    public var agent: String
    /// The run whose journal was replayed.
    public var source: RunID
    var held: JournalCall
    var asked: JournalCall

    public var description: String {
        "the resumed run diverged from its journal at boundary \(position) of agent \(agent) (run \(source)): "
            + "the journal holds \(held.description), the agent asked for \(asked.description). "
            + "A resumed agent must make the same calls in the same order; to redo a step after changing the agent, resume at it (?at=SEQ)"
    }
}
