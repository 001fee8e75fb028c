import Foundation

/// Everything known about one run (DESIGN §2), without its events.
///
/// JSON keys follow the HTTP interface: `parentRunId`, `rootRunId`, and so on.
public struct RunRecord: Sendable, Hashable, Codable, Identifiable {
    public var id: RunID
    public var agent: String
    public var input: JSONValue
    public var status: RunStatus
    public var parentRunID: RunID?
    public var rootRunID: RunID
    /// How deep the run is nested: 0 for a root run, 1 for a run it calls, and so on.
    public var depth: Int
    public var createdAt: Date
    public var startedAt: Date?
    public var stopRequestedAt: Date?
    public var finishedAt: Date?
    public var forced: Bool
    public var result: JSONValue?
    public var error: String?
    /// The id of the Tether instance that executes the run (`TETHER_INSTANCE_ID`); `nil` for
    /// runs recorded before instances were.
    public var instance: String?
    /// The run this one continues (`POST /runs/{id}/resume`): the run whose journal it
    /// replayed. A child run of a resumed tree names the child it continues.
    public var resumedFrom: RunID?
    /// For a fork (`POST /runs/{id}/resume?at=SEQ`): `SEQ`, before which the journal of
    /// `resumedFrom` was replayed; `nil` for a plain resume, which replays all of it.
    public var forkedAt: Int?
    /// The run's LLM calls, tokens and cost, and its subtree's; `nil` for runs recorded
    /// before usage was.
    public var usage: RunUsage?
    /// A root run's limits (``RunBudget``), as they stood when it was started; `nil` for a
    /// child run, which spends from its root's, and for a run with no limit.
    public var budget: RunBudget?
    /// Why the run's stop was requested: a person (`requested`), its budget, or shutdown;
    /// also set on the runs that became `stopping` with it. `nil` if no stop was requested.
    public var stopReason: StopReason?

    public init(
        id: RunID,
        agent: String,
        input: JSONValue,
        status: RunStatus = .running,
        parentRunID: RunID? = nil,
        rootRunID: RunID,
        depth: Int = 0,
        createdAt: Date,
        startedAt: Date? = nil,
        stopRequestedAt: Date? = nil,
        finishedAt: Date? = nil,
        forced: Bool = false,
        result: JSONValue? = nil,
        error: String? = nil,
        instance: String? = nil,
        resumedFrom: RunID? = nil,
        forkedAt: Int? = nil,
        usage: RunUsage? = RunUsage(),
        budget: RunBudget? = nil,
        stopReason: StopReason? = nil
    ) {
        self.id = id
        self.agent = agent
        self.input = input
        self.status = status
        self.parentRunID = parentRunID
        self.rootRunID = rootRunID
        self.depth = depth
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.stopRequestedAt = stopRequestedAt
        self.finishedAt = finishedAt
        self.forced = forced
        self.result = result
        self.error = error
        self.instance = instance
        self.resumedFrom = resumedFrom
        self.forkedAt = forkedAt
        self.usage = usage
        self.budget = budget
        self.stopReason = stopReason
    }

    /// Whether this is a root run that resumed another whole (not a fork): a run is resumed
    /// so once.
    public var isWholeResume: Bool { resumedFrom != nil && forkedAt == nil && parentRunID == nil }

    /// Whether this run is the root of its tree.
    public var isRoot: Bool { parentRunID == nil }

    /// The status state machine positioned at this record's status.
    public var lifecycle: RunLifecycle {
        RunLifecycle(status: status, stopRequestedAt: stopRequestedAt, forced: forced)
    }

    /// Writes every key, `null` included, so API clients see one shape.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(agent, forKey: .agent)
        try container.encode(input, forKey: .input)
        try container.encode(status, forKey: .status)
        try container.encode(parentRunID, forKey: .parentRunID)
        try container.encode(rootRunID, forKey: .rootRunID)
        try container.encode(depth, forKey: .depth)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(stopRequestedAt, forKey: .stopRequestedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
        try container.encode(forced, forKey: .forced)
        try container.encode(result, forKey: .result)
        try container.encode(error, forKey: .error)
        try container.encode(instance, forKey: .instance)
        try container.encode(resumedFrom, forKey: .resumedFrom)
        try container.encode(forkedAt, forKey: .forkedAt)
        try container.encode(usage, forKey: .usage)
        try container.encode(budget, forKey: .budget)
        try container.encode(stopReason, forKey: .stopReason)
    }

    enum CodingKeys: String, CodingKey {
        case id, agent, input, status
        case parentRunID = "parentRunId"
        case rootRunID = "rootRunId"
        case depth, createdAt, startedAt, stopRequestedAt, finishedAt, forced, result, error, instance, resumedFrom, forkedAt, usage
        case budget, stopReason
    }
}
