import Foundation
import HTTPTypes
import Hummingbird
import TetherCore
import TetherRuntime

/// The run routes (DESIGN §4). Each handler reads its input and returns a domain result;
/// ``Negotiation`` renders it as JSON or as a page (or a `303` after a form post).
struct RunsController {
    /// Starts and stops runs.
    let supervisor: RunSupervisor
    /// Answers what clients read about runs.
    let reads: any RunReadModel
    let events: EventStream

    /// Registers the routes that only read.
    func addRoutes(to router: Router<AppRequestContext>, negotiation: Negotiation) {
        router.get("runs", use: negotiation(list))
        router.get("runs/stop", use: negotiation(previewStopMatching))
        router.get("runs/{id}", use: negotiation(show))
        router.get("runs/{id}/events", use: stream)
    }

    /// Registers the routes that change runs, on a group that checks CSRF (``CSRFMiddleware``).
    func addPostRoutes(to group: RouterGroup<AppRequestContext>, negotiation: Negotiation) {
        group.post("runs", use: negotiation(create))
        group.post("runs/stop", use: negotiation(stopMatching))
        group.post("runs/{id}/stop", use: negotiation(stop))
        group.post("runs/{id}/resume", use: negotiation(resume))
    }

    /// `POST /runs/{id}/resume?at=SEQ`: a new run that replays the run's journal (only the
    /// boundaries logged before `SEQ`, with `at`) and goes on live.
    @Sendable func resume(request: Request, context: AppRequestContext) async throws -> RunStart {
        let id = try Self.runID(context)
        var at: Int?
        if let text = request.uri.queryParameters["at"] {
            guard let value = Int(String(text).trimmingCharacters(in: .whitespaces)), value >= 1 else {
                throw APIError(.badRequest, "at must be the seq of an event of the run (a whole number from 1), not '\(text)'")
            }
            at = value
        }
        return .started(try await supervisor.resume(id, at: at))
    }

    /// `POST /runs`, `{agent, input, budget}` or the run form.
    @Sendable func create(request: Request, context: AppRequestContext) async throws -> RunStart {
        let body = try await request.decode(as: StartRunBody.self, context: context)
        if let problem = body.budgetProblem {
            return .refused(agent: body.agent, input: body.input, limits: body.limitFields, reason: problem)
        }
        do {
            return .started(
                try await supervisor.start(
                    agent: body.agent,
                    input: body.input,
                    coercingStrings: body.coercesStrings,
                    budget: body.budget
                )
            )
        } catch {
            // Swift 6.3 crashes compiling `catch .invalidInput(let reason)` here.
            guard case .invalidInput(let reason) = error else { throw error }
            return .refused(agent: body.agent, input: body.input, limits: body.limitFields, reason: reason)
        }
    }

    /// `GET /runs?status=&agent=&limit=&cursor=`.
    @Sendable func list(request: Request, context: AppRequestContext) async throws -> RunListing {
        let parameters = request.uri.queryParameters
        let query = try RunListQuery { parameters[$0[...]].map(String.init) }
        var runs = try await reads.listRuns(query.runQuery(limit: query.limit + 1))
        var next: String?
        if runs.count > query.limit {
            runs.removeLast(runs.count - query.limit)
            next = runs.last.map { RunCursor.encode(RunPosition(of: $0)) }
        }
        return RunListing(query: query, runs: runs, next: next)
    }

    /// `GET /runs/{id}?after=&limit=`: the record, the runs below it, and a page of the events
    /// of its subtree (the first 1,000 by default), with a link to the next page.
    @Sendable func show(request: Request, context: AppRequestContext) async throws -> RunDetail {
        let id = try Self.runID(context)
        let parameters = request.uri.queryParameters
        let query = try EventPageQuery { parameters[$0[...]].map(String.init) }
        let subtree = try await reads.subtree(of: id)
        guard let record = subtree.first else { throw APIError(.notFound, "no run has the id \(id)") }
        let page = try await query.page(of: reads, subtree: subtree)
        return RunDetail(record: record, runs: Array(subtree.dropFirst()), events: page.events, nextEvents: page.next)
    }

    /// `GET /runs/{id}/events` → SSE, from `Last-Event-ID` (which wins) or `?after=`.
    @Sendable func stream(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.runID(context)
        guard let record = try await reads.record(id) else { throw APIError(.notFound, "no run has the id \(id)") }
        let last = try await reads.lastSeq(ofTree: record.rootRunID)
        let cursor: Int
        if let header = request.headers[HTTPField.Name("Last-Event-ID")!] {
            cursor = try Self.position(header, named: "Last-Event-ID", last: last)
        } else if let after = request.uri.queryParameters["after"] {
            cursor = try Self.position(String(after), named: "after", last: last)
        } else {
            cursor = 0
        }
        return try events.response(for: id, record: record, after: cursor)
    }

    /// `POST /runs/stop?agent=&status=`: every matching run in flight is asked to stop
    /// cooperatively.
    @Sendable func stopMatching(request: Request, context: AppRequestContext) async throws -> BulkStop {
        let filter = try BulkStopFilter(request)
        return BulkStop(filter: filter, runIds: await supervisor.stopAll(agent: filter.agent, status: filter.status))
    }

    /// `GET /runs/stop?agent=`: what a bulk stop would reach (a page only).
    @Sendable func previewStopMatching(request: Request, context: AppRequestContext) async throws -> BulkStopPreview {
        let filter = try BulkStopFilter(request)
        let runs = try await reads.listRuns(RunQuery(status: filter.status, agent: filter.agent, limit: 500, includeChildren: true))
        return BulkStopPreview(filter: filter, runs: runs.filter(\.status.isInFlight))
    }

    /// `POST /runs/{id}/stop`; `?force=true` forces; `?wait=SECONDS` waits up to that long
    /// for the end. A form post never waits: the browser goes back to the run's page at once.
    @Sendable func stop(request: Request, context: AppRequestContext) async throws -> StopOutcome {
        let id = try Self.runID(context)
        let options = try StopOptions(request)
        let wait = Representation(request) == .formPost ? nil : options.wait
        var record: RunRecord
        do {
            record = try await supervisor.stop(id, force: options.force)
        } catch {
            guard case .runFinished = error else { throw error }
            return .alreadyFinished(id, error)
        }
        if let wait, !record.status.isTerminal {
            record = try await Self.waitForEnd(of: id, within: wait, reads: reads) ?? record
        }
        return .requested(record, waited: wait != nil)
    }

    /// The run's final record if it ends within `limit`, else `nil`.
    static func waitForEnd(of id: RunID, within limit: Duration, reads: any RunReadModel) async throws -> RunRecord? {
        await withTaskGroup(of: RunRecord?.self) { group in
            group.addTask { try? await reads.waitUntilFinished(id) }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
    }

    // MARK: Input

    /// The `{id}` path parameter, checked (`400` with the text it got).
    static func runID(_ context: AppRequestContext) throws -> RunID {
        let text = try context.parameters.require("id")
        guard let id = RunID(validating: text) else { throw APIError(.badRequest, "'\(text)' is not a run id") }
        return id
    }

    /// A resume position: a whole number from 0 to the tree's last `seq`.
    static func position(_ text: String, named name: String, last: Int) throws -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
            throw APIError(.badRequest, "\(name) must be an event id (a whole number), not '\(text)'")
        }
        guard value <= last else {
            throw APIError(.badRequest, "\(name) \(value) is past the end of the run's log (its last event is \(last))")
        }
        return value
    }
}
