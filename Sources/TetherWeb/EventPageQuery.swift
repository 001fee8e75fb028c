import TetherCore

/// `?after=&limit=` of `GET /runs/{id}`, checked: which page of the run's events to show.
struct EventPageQuery: Sendable {
    /// Events with a `seq` above this one.
    var after = 0
    var limit = Self.defaultLimit

    static let defaultLimit = 1_000
    static let maxLimit = 10_000

    /// The first page, of the default size.
    init() {}

    init(_ parameter: (String) -> String?) throws {
        if let text = parameter("after") {
            guard let after = Int(text), after >= 0 else {
                throw APIError(.badRequest, "after must be an event's seq (a whole number, 0 or more), not '\(text)'")
            }
            self.after = after
        }
        if let text = parameter("limit") {
            guard let limit = Int(text), (1...Self.maxLimit).contains(limit) else {
                throw APIError(.badRequest, "limit must be a whole number from 1 to \(Self.maxLimit), not '\(text)'")
            }
            self.limit = limit
        }
    }

    /// One page of the events of `members` (a run and the runs below it) in the tree rooted
    /// at `root`, read in chunks so that a child's events among many others' cost no more
    /// than they must; `hasMore` when events of `members` follow the page.
    func page(of reads: any RunReadModel, root: RunID, members: Set<RunID>) async throws -> (events: [ProgressEvent], hasMore: Bool) {
        var events: [ProgressEvent] = []
        var cursor = after
        let chunk = min(limit + 1, 1_024)
        while events.count <= limit {
            let read = try await reads.loggedEvents(ofTree: root, after: cursor, limit: chunk)
            events += read.lazy.filter { members.contains($0.runID) }
            guard let last = read.last, read.count == chunk else { break }
            cursor = last.seq
        }
        let hasMore = events.count > limit
        return (Array(events.prefix(limit)), hasMore)
    }

    /// The page of the events of `subtree` (a run first, then the runs below it), with the
    /// path of the next page (`/runs/{id}?after=SEQ&limit=N`) when events follow it.
    func page(of reads: any RunReadModel, subtree: [RunRecord]) async throws -> (events: [ProgressEvent], next: String?) {
        guard let record = subtree.first else { return ([], nil) }
        let page = try await page(of: reads, root: record.rootRunID, members: Set(subtree.map(\.id)))
        guard page.hasMore, let last = page.events.last else { return (page.events, nil) }
        return (page.events, "/runs/\(record.id)?" + QueryString.encode([("after", String(last.seq)), ("limit", String(limit))]))
    }
}
