import Foundation
import Synchronization
import TetherCore

/// What the LLM calls in flight in one tree have streamed so far (``AnswerInFlight``), kept
/// beside the tree's ``EventLog`` and never stored: a call's entry begins with its
/// `llm.started` and ends with its answer. Subscribers read snapshots when it changes
/// (``updates(every:)``), so a provider streaming fast costs them nothing per chunk.
public final class AnswersInFlight: Sendable {
    private struct State {
        var answers: [Int: AnswerInFlight] = [:]
        /// Counts changes, so a reader knows whether it has seen the latest.
        var version = 0
        var isClosed = false
        var waiters = WaiterSet<Int>()
    }
    private let state = Mutex(State())

    public init() {}

    /// The call `answer.seq` began.
    func begin(_ answer: AnswerInFlight) {
        change { $0[answer.seq] = answer }
    }

    /// The call's answer grew by `text` (a chunk).
    func append(_ text: String, to seq: Int) {
        change { answers in
            answers[seq]?.text += text
            answers[seq]?.chunks += 1
        }
    }

    /// What another instance published of a call it executes: `text` placed at `offset` (in
    /// UTF-16 code units); offset 0 begins the call's text afresh. Returns `false` when
    /// `offset` does not continue the text this board has (a notice was missed).
    public func receive(runID: RunID, seq: Int, startedAt: Date, offset: Int, text: String, chunks: Int) -> Bool {
        var continued = true
        change { answers in
            if offset == 0 {
                answers[seq] = AnswerInFlight(runID: runID, seq: seq, startedAt: startedAt, text: text, chunks: chunks)
            } else if var answer = answers[seq], answer.text.utf16.count == offset {
                answer.text += text
                answer.chunks = chunks
                answers[seq] = answer
            } else {
                continued = false
            }
        }
        return continued
    }

    /// The call ended, answered or not.
    public func end(_ seq: Int) {
        change { $0[seq] = nil }
    }

    /// The tree has ended (or is no longer watched): readers stop.
    public func close() {
        let woken = state.withLock { state in
            state.isClosed = true
            state.answers = [:]
            return state.waiters.takeAll()
        }
        for waiter in woken { waiter.wake() }
    }

    /// The calls in flight, in the order they began.
    public var snapshot: [AnswerInFlight] {
        state.withLock { $0.answers.values.sorted { $0.seq < $1.seq } }
    }

    /// Snapshots: one at once, then one after each change, at most one per `interval`;
    /// ends once the tree has ended or the reader stops iterating.
    public func updates(every interval: Duration) -> AsyncStream<[AnswerInFlight]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [AnswerInFlight].self, bufferingPolicy: .bufferingNewest(1))
        let task = Task {
            var seen = -1
            while !Task.isCancelled {
                let (version, isClosed) = state.withLock { ($0.version, $0.isClosed) }
                if isClosed { break }
                if version != seen {
                    // The snapshot shares the texts' storage until the reader is done with it
                    // (a chunk appended meanwhile copies its text): it is not kept here over
                    // the pause.
                    seen = self.yieldSnapshot(to: continuation)
                    try? await Task.sleep(for: interval)
                    continue
                }
                await waitForChange(after: version)
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Yields the answers in flight now, in the order they began; returns their version.
    private func yieldSnapshot(to continuation: AsyncStream<[AnswerInFlight]>.Continuation) -> Int {
        let (version, answers) = state.withLock { ($0.version, $0.answers.values.sorted { $0.seq < $1.seq }) }
        continuation.yield(answers)
        return version
    }

    private func waitForChange(after version: Int) async {
        await WaiterSet<Int>.suspend { waiter in
            state.withLock { state in
                guard state.version == version, !state.isClosed else { return nil }
                return state.waiters.add(waiter, waitingFor: version)
            }
        } unregister: { id in
            state.withLock { $0.waiters.remove(id) }
        }
    }

    private func change(_ update: (inout [Int: AnswerInFlight]) -> Void) {
        let woken = state.withLock { state -> [OneShotWaiter] in
            guard !state.isClosed else { return [] }
            update(&state.answers)
            state.version += 1
            return state.waiters.takeAll()
        }
        for waiter in woken { waiter.wake() }
    }
}
