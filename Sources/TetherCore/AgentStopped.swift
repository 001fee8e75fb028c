/// Thrown by a structural boundary when a stop was requested for the run or an ancestor.
///
/// An agent may catch it to tidy up, but the run still ends `stopped`: the token stays set,
/// so every later boundary throws again.
public struct AgentStopped: Error, Sendable, Hashable, CustomStringConvertible {
    /// The boundary that threw.
    public var boundary: Boundary

    public init(boundary: Boundary) {
        self.boundary = boundary
    }

    public var description: String {
        "stopped at the \(boundary.rawValue) boundary"
    }
}

/// Thrown by `agents.call` when the child run alone was stopped (its caller was not).
///
/// The caller may handle it and go on; if it does not, the caller ends `failed` with this
/// message, which names the stopped child.
public struct SubRunStopped: Error, Sendable, Hashable, CustomStringConvertible {
    public var childRunID: RunID
    public var agent: String

    public init(childRunID: RunID, agent: String) {
        self.childRunID = childRunID
        self.agent = agent
    }

    public var description: String {
        "sub-run \(childRunID) of agent '\(agent)' was stopped"
    }
}

/// Thrown by `agents.call` when the child run failed or was interrupted.
public struct SubRunFailed: Error, Sendable, Hashable, CustomStringConvertible {
    public var childRunID: RunID
    public var agent: String
    public var status: RunStatus
    public var message: String

    public init(childRunID: RunID, agent: String, status: RunStatus, message: String) {
        self.childRunID = childRunID
        self.agent = agent
        self.status = status
        self.message = message
    }

    public var description: String {
        "sub-run \(childRunID) of agent '\(agent)' \(status.rawValue): \(message)"
    }
}

/// Thrown by a tool used after its run's `run` method ended, for instance from `cleanup()`.
public struct ToolsClosed: Error, Sendable, Hashable, CustomStringConvertible {
    public var boundary: Boundary

    public init(boundary: Boundary) {
        self.boundary = boundary
    }

    public var description: String {
        "the \(boundary.rawValue) tool was used after the run ended"
    }
}

/// Thrown by `agents.call` past the nesting limit (`TETHER_MAX_DEPTH`).
public struct NestingTooDeep: Error, Sendable, Hashable, CustomStringConvertible {
    public var agent: String
    public var maxDepth: Int

    public init(agent: String, maxDepth: Int) {
        self.agent = agent
        self.maxDepth = maxDepth
    }

    public var description: String {
        "calling agent '\(agent)' would nest deeper than \(maxDepth) agent calls (TETHER_MAX_DEPTH)"
    }
}

/// Thrown when an agent name is not registered.
public struct UnknownAgent: Error, Sendable, Hashable, CustomStringConvertible {
    public var name: String

    public init(name: String) {
        self.name = name
    }

    public var description: String {
        "no agent is named '\(name)'"
    }
}
