import Foundation

/// The kind of a progress event (DESIGN §3). Raw values are the wire names.
public enum EventKind: String, Sendable, Codable, CaseIterable {
    case runStarted = "run.started"
    case llmStarted = "llm.started"
    case llmFinished = "llm.finished"
    /// An LLM call that ended with an error (HTTP failure, timeout).
    case llmFailed = "llm.failed"
    case store
    case agentCalled = "agent.called"
    case agentReturned = "agent.returned"
    case log
    /// A `wait` began.
    case wait
    /// A `wait` slept its whole time (one woken by a stop has no end event): the journal
    /// keeps the end, so a resumed run does not wait again.
    case waitEnded = "wait.ended"
    case stopRequested = "stop.requested"
    /// A boundary a resumed run took from the journal instead of doing it again (DESIGN §3).
    case replayed
    case runFinished = "run.finished"
}

/// One entry of a run tree's ordered log.
///
/// `seq` counts 1, 2, 3, … per root run with no gaps; `runID` says which run of the tree
/// the event is about.
public struct ProgressEvent: Sendable, Hashable, Codable {
    public var seq: Int
    public var runID: RunID
    public var at: Date
    public var kind: EventKind
    /// One human line, what a person wants to read in the log.
    public var message: String
    /// Structured details; always a JSON object.
    public var data: [String: JSONValue]

    public init(seq: Int, runID: RunID, at: Date, kind: EventKind, message: String, data: [String: JSONValue] = [:]) {
        self.seq = seq
        self.runID = runID
        self.at = at
        self.kind = kind
        self.message = message
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case seq
        case runID = "runId"
        case at, kind, message, data
    }
}

/// An event before the log numbers it.
public struct EventDraft: Sendable, Hashable {
    public var runID: RunID
    public var kind: EventKind
    public var message: String
    public var data: [String: JSONValue]

    /// A NUL in `message` becomes U+FFFD: the stores' text columns cannot hold it (SQLite
    /// reads text up to it, PostgreSQL refuses it), and a log line needs none. `data` keeps
    /// its NULs: it is stored as JSON, which escapes them.
    public init(runID: RunID, kind: EventKind, message: String, data: [String: JSONValue] = [:]) {
        self.runID = runID
        self.kind = kind
        self.message = message.utf8.contains(0) ? message.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : message
        self.data = data
    }
}
