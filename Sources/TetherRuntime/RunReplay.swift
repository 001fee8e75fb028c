import Synchronization
import TetherCore

/// A resumed run's way through the journal of the run it continues (`POST /runs/{id}/resume`).
///
/// Each boundary the resumed run enters asks ``next(_:)`` first, and takes the journal's
/// next entry. While that entry ended and is the same call (the same request, key, agent
/// and input, or wait), the boundary returns the recorded outcome and does nothing else.
/// An entry that had not ended (a crash, a `wait` a stop woke, a child stopped with its
/// caller), the error that ended the run, and every boundary past the journal's end run
/// live; an `agents.call` that runs live where the journal holds the child it was in
/// resumes inside that child. A run's sequential boundaries after such an entry are past
/// the end: it was the last.
///
/// A different call where the journal holds an ended one is a divergence: the run ends
/// `failed` with the position, what the journal held and what was asked, and every later
/// boundary throws the same error, so an agent that catches it cannot go on with wrong data.
///
/// Positions count per run, in the order boundaries began (a store operation's at its end,
/// when it is logged): an agent makes the same calls in the same order given the same
/// results, as definitions do (the README says so for Swift agents). Boundaries that ran
/// concurrently (their spans overlap in the log) match in either order.
final class RunReplay: Sendable {
    let journal: Journal
    /// The run whose journal this replays.
    let source: RunID
    /// Its agent, for messages.
    let agent: String
    private let entries: [JournalEntry]
    private let state = Mutex(State())

    private struct State {
        /// The first entry not taken yet.
        var next = 0
        /// Entries taken out of order (a concurrent boundary that began later).
        var taken: Set<Int> = []
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

    /// The divergence the run met, if it did.
    var divergence: ReplayDiverged? { state.withLock { $0.divergence } }

    /// The step of the next boundary, `call`.
    /// - Throws: ``ReplayDiverged`` when the journal holds a different ended call there, or
    ///   the run diverged before.
    func next(_ call: JournalCall) throws(ReplayDiverged) -> Step {
        let step: Result<Step, ReplayDiverged> = state.withLock { state in
            if let divergence = state.divergence { return .failure(divergence) }
            while state.next < entries.count, state.taken.contains(state.next) { state.next += 1 }
            guard state.next < entries.count else { return .success(.live) }
            let index = matching(call, from: state.next, taken: state.taken)
            state.taken.insert(index)
            let entry = entries[index]
            switch entry.outcome {
            case nil,
                .failed? where index == entries.count - 1:
                // Not replayed (a boundary that had not ended, or the error that ended the
                // run): nothing recorded is used, so a changed call just runs.
                if let child = entry.child, entry.call == call, case .agent(let name, _) = call {
                    return .success(.liveInChild(RunReplay(journal: journal, source: child, agent: name)))
                }
                return .success(.live)
            case .some(let outcome):
                guard entry.call == call else {
                    let divergence = ReplayDiverged(position: index + 1, agent: agent, source: source, held: entry.call, asked: call)
                    state.divergence = divergence
                    return .failure(divergence)
                }
                return .success(.replay(entry, outcome))
            }
        }
        return try step.get()
    }

    /// The entry `call` takes: the first not taken, or — when that is another call — one that
    /// ran concurrently with it (began before it ended) and is this call, as boundaries an
    /// agent runs at once (`async let`) may begin in another order each time.
    private func matching(_ call: JournalCall, from first: Int, taken: Set<Int>) -> Int {
        guard entries[first].call != call else { return first }
        let end = entries[first].endSeq ?? .max
        return (first + 1..<entries.count).first { index in
            !taken.contains(index) && entries[index].startSeq < end && entries[index].call == call
        } ?? first
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
