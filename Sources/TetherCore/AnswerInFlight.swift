import Foundation

/// The answer of an LLM call still in flight, as far as its provider has streamed it: what
/// `event: delta` frames carry (DESIGN §4) and the run's page shows under the step. Never
/// stored: the answer that counts is the one `llm.finished` records, which is exactly
/// `text` once the stream has ended.
public struct AnswerInFlight: Sendable, Hashable {
    public var runID: RunID
    /// The `seq` of the call's `llm.started`.
    public var seq: Int
    /// When the call began (its `llm.started`'s `at`).
    public var startedAt: Date
    /// The text streamed so far.
    public var text: String
    /// How many chunks it came in: about one token each for OpenAI-style streams, one word
    /// each for the simulated provider.
    public var chunks: Int

    public init(runID: RunID, seq: Int, startedAt: Date, text: String = "", chunks: Int = 0) {
        self.runID = runID
        self.seq = seq
        self.startedAt = startedAt
        self.text = text
        self.chunks = chunks
    }
}
