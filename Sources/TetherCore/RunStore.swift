/// Where run records and their trees' event logs are kept: memory for tests, SQLite as the
/// embedded default. Only the run supervisor writes; anyone reads.
public protocol RunStore: Sendable {
    /// Saves a new run.
    func insertRun(_ record: RunRecord) async throws
    /// Replaces a run's record (the supervisor's single writer per run keeps this ordered).
    func updateRun(_ record: RunRecord) async throws
    /// One run, or `nil`.
    func run(_ id: RunID) async throws -> RunRecord?
    /// Every run of the tree rooted at `root`, the root first, then by creation.
    func runs(inTree root: RunID) async throws -> [RunRecord]
    /// Appends events in `seq` order; they all belong to one tree.
    func appendEvents(_ events: [ProgressEvent], tree root: RunID) async throws
    /// The tree's events with `seq` greater than `seq`, in order, at most `limit` of them.
    func events(inTree root: RunID, after seq: Int, limit: Int) async throws -> [ProgressEvent]
}
