import Foundation

/// Where run records and their trees' event logs are kept: memory for tests, SQLite as the
/// embedded default. Only the run supervisor writes; anyone reads.
public protocol RunStore: RunListing {
    /// Saves a new run.
    func insertRun(_ record: RunRecord) async throws
    /// Replaces a run's record (the supervisor's single writer per run keeps this ordered).
    /// A shared store changes only runs in flight: a final record is final.
    func updateRun(_ record: RunRecord) async throws
    /// One run, or `nil`.
    func run(_ id: RunID) async throws -> RunRecord?
    /// Every run of the tree rooted at `root`, the root first, then by creation.
    func runs(inTree root: RunID) async throws -> [RunRecord]
    /// Appends events in `seq` order; they all belong to one tree. A shared store refuses
    /// them once the tree's root has its final record (runs log their `run.finished` first).
    func appendEvents(_ events: [ProgressEvent], tree root: RunID) async throws
    /// The tree's events with `seq` greater than `seq`, in order, at most `limit` of them.
    func events(inTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent]
    /// The highest `seq` of the tree (0 for none).
    func lastSeq(inTree root: RunID) async throws -> Int
    /// The `run.finished` event of run `id` in the tree rooted at `root`, once logged.
    func finishedEvent(of id: RunID, inTree root: RunID) async throws -> ProgressEvent?
    /// The root run that resumed run `id` whole (`resumedFrom` it, and not a fork), if one
    /// did: a run is resumed once.
    func resumption(of id: RunID) async throws -> RunRecord?
    /// Runs still `running` or `stopping`, deepest first: after a restart, the runs the
    /// process died with.
    func unfinishedRuns() async throws -> [RunRecord]
    /// Deletes every run tree whose root finished before `date`, with its events; a tree
    /// with any run still in flight is kept. Returns how many trees went.
    func deleteTrees(finishedBefore date: Date) async throws -> Int
}

extension RunStore {
    /// The runs of the tree rooted at `root` that are `id` or below it, parents first.
    public func subtree(of id: RunID, inTree root: RunID) async throws -> [RunRecord] {
        let tree = try await runs(inTree: root)
        var included: Set<RunID> = [id]
        var result: [RunRecord] = []
        for record in tree {
            if record.id == id || record.parentRunID.map(included.contains) == true {
                included.insert(record.id)
                result.append(record)
            }
        }
        return result
    }
}

extension Array where Element == RunRecord {
    /// Parents before children, each level by creation.
    public func sortedParentsFirst() -> [RunRecord] {
        var placed: Set<RunID> = []
        var result: [RunRecord] = []
        var remaining = self
        while !remaining.isEmpty {
            let ready = remaining.filter { $0.parentRunID.map(placed.contains) ?? true }
            guard !ready.isEmpty else { return result + remaining }
            for record in ready { placed.insert(record.id) }
            result += ready
            remaining.removeAll { placed.contains($0.id) }
        }
        return result
    }
}

/// A stored run record the store cannot read back (a row written by hand, a damaged file).
/// Lists and trees skip such a record; asking for it alone throws this.
public struct UnreadableRecord: Error, Sendable, Hashable, CustomStringConvertible {
    public var id: String
    public var reason: String

    public init(id: String, reason: String) {
        self.id = id
        self.reason = reason
    }

    public var description: String { "the stored record of run \(id) cannot be read: \(reason)" }
}

/// Which runs ``RunListing/listRuns(_:)`` returns: newest first, by creation time then id.
public struct RunQuery: Sendable, Hashable {
    public var status: RunStatus?
    public var agent: String?
    /// At most this many.
    public var limit: Int
    /// Only runs older than this position (the last run of the previous page).
    public var before: RunPosition?
    /// Child runs too (otherwise root runs only).
    public var includeChildren: Bool

    public init(status: RunStatus? = nil, agent: String? = nil, limit: Int = 50, before: RunPosition? = nil, includeChildren: Bool = false) {
        self.status = status
        self.agent = agent
        self.limit = limit
        self.before = before
        self.includeChildren = includeChildren
    }

    /// Whether `record` passes the filters (not the position or the limit).
    public func matches(_ record: RunRecord) -> Bool {
        (includeChildren || record.isRoot)
            && (status == nil || record.status == status)
            && (agent == nil || record.agent == agent)
    }
}

/// A run's place in the newest-first order: a page boundary that stays put while new runs
/// arrive (they sort before it).
public struct RunPosition: Sendable, Hashable {
    public var createdAt: Date
    public var id: RunID

    public init(createdAt: Date, id: RunID) {
        self.createdAt = createdAt
        self.id = id
    }

    public init(of record: RunRecord) {
        self.init(createdAt: record.createdAt, id: record.id)
    }

    /// Whether a run at `other` comes after this one in the newest-first order (is older).
    public func isBefore(_ other: RunPosition) -> Bool {
        createdAt != other.createdAt ? createdAt > other.createdAt : id.rawValue > other.id.rawValue
    }
}

/// Listing runs, a page at a time.
public protocol RunListing: Sendable {
    func listRuns(_ query: RunQuery) async throws -> [RunRecord]
}
