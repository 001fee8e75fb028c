import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TetherAgents
import TetherCore
import TetherRuntime

/// The JSON API of runs (DESIGN §4).
struct RunsController {
    let supervisor: RunSupervisor
    let events: EventStream
    let pages: PagesController

    /// The largest request body accepted (`413 payload_too_large` beyond).
    static let maxBodyBytes = 1 << 20

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("runs", use: create)
        router.get("runs", use: list)
        router.post("runs/stop", use: stopMatching)
        router.get("runs/stop", use: confirmStopMatching)
        router.get("runs/{id}", use: show)
        router.get("runs/{id}/events", use: stream)
        router.post("runs/{id}/stop", use: stop)
    }

    /// `POST /runs` `{agent, input}` → `202 {runId, status, links}`.
    @Sendable func create(request: Request, context: AppRequestContext) async throws -> Response {
        switch BodyKind(request) {
        case .form: return try await pages.createFromForm(request: request, context: context)
        case .otherFormType:
            guard CSRFMiddleware.verify(formToken: nil, context: context) else { throw APIError.csrfMissing }
        case .json, .none: break
        }
        let body = try await Self.jsonBody(of: request)
        guard case .object(let members) = body else { throw APIError(.badRequest, "the body must be a JSON object {\"agent\", \"input\"}") }
        guard case .string(let agent)? = members["agent"], !agent.isEmpty else {
            throw APIError(.badRequest, "\"agent\" (the agent's name, as text) is required")
        }
        let input = members["input"] ?? .object([:])
        guard case .object = input else { throw APIError(.badRequest, "\"input\" must be a JSON object of fields") }
        let record = try await supervisor.start(agent: agent, input: input)
        let links = RunLinks(id: record.id)
        return try .json(
            StartedRun(runId: record.id, status: record.status, links: links), status: .accepted,
            headers: [.location: links.selfLink])
    }

    /// `GET /runs` → `{runs, next}`, newest first.
    @Sendable func list(request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let query = try RunListQuery { parameters[$0[...]].map(String.init) }
        if request.prefersHTML { return try await pages.listPage(query, request: request, context: context) }
        var runs = try await supervisor.listRuns(query.runQuery(limit: query.limit + 1))
        var next: String?
        if runs.count > query.limit {
            runs.removeLast(runs.count - query.limit)
            next = runs.last.map { RunCursor.encode(RunPosition(of: $0)) }
        }
        return try .json(RunPage(runs: runs, next: next))
    }

    /// `GET /runs/{id}` → the record, the runs below it, and the events of its subtree.
    @Sendable func show(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.runID(context)
        if request.prefersHTML { return try await pages.runPage(id, request: request, context: context) }
        let subtree = try await supervisor.subtree(of: id)
        guard let record = subtree.first else { throw APIError(.notFound, "no run has the id \(id)") }
        let members = Set(subtree.map(\.id))
        let events = try await supervisor.loggedEvents(ofTree: record.rootRunID).filter { members.contains($0.runID) }
        return try .json(RunDetail(record: record, runs: Array(subtree.dropFirst()), events: events))
    }

    /// `GET /runs/{id}/events` → SSE.
    @Sendable func stream(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.runID(context)
        guard let record = try await supervisor.record(id) else { throw APIError(.notFound, "no run has the id \(id)") }
        let last = try await supervisor.lastSeq(ofTree: record.rootRunID)
        let cursor: Int
        if let header = request.headers[HTTPField.Name("Last-Event-ID")!] {
            cursor = try Self.position(header, named: "Last-Event-ID", last: last)
        } else if let after = request.uri.queryParameters["after"] {
            cursor = try Self.position(String(after), named: "after", last: last)
        } else {
            cursor = 0
        }
        return events.response(for: id, record: record, after: cursor)
    }

    /// `POST /runs/stop?agent=&status=` → `202 {runIds, count}`: every matching run in flight
    /// is asked to stop cooperatively. A form post gets `303` to the filtered history.
    @Sendable func stopMatching(request: Request, context: AppRequestContext) async throws -> Response {
        let filter = try BulkStopFilter(request)
        switch BodyKind(request) {
        case .form:
            let form = try await FormBody.read(request)
            guard CSRFMiddleware.verify(formToken: form["csrf"], context: context) else { throw APIError.csrfMissing }
            let stopped = await supervisor.stopAll(agent: filter.agent, status: filter.status)
            return .redirect(to: "/runs?" + filter.query(extra: ["stopped": String(stopped.count)]), type: .normal)
        case .otherFormType:
            guard CSRFMiddleware.verify(formToken: nil, context: context) else { throw APIError.csrfMissing }
        case .json, .none: break
        }
        let stopped = await supervisor.stopAll(agent: filter.agent, status: filter.status)
        return try .json(BulkStopAnswer(runIds: stopped, count: stopped.count), status: .accepted)
    }

    /// `GET /runs/stop?agent=` for a browser: the confirmation before a bulk stop.
    @Sendable func confirmStopMatching(request: Request, context: AppRequestContext) async throws -> Response {
        guard request.prefersHTML else { throw APIError(.notFound, "a bulk stop is POST /runs/stop?agent=…&status=…") }
        return try await pages.confirmStop(try BulkStopFilter(request), context: context)
    }

    /// `POST /runs/{id}/stop` → `202 {runId, status}`; `?force=true` forces; `?wait=SECONDS`
    /// answers `200` once the run is terminal, or `202` with its status when the wait runs out.
    @Sendable func stop(request: Request, context: AppRequestContext) async throws -> Response {
        let id = try Self.runID(context)
        var wait: Duration?
        if let value = request.uri.queryParameters["wait"] {
            guard let seconds = Double(value), seconds >= 0, seconds <= Self.maxStopWait else {
                throw APIError(.badRequest, "wait must be a number of seconds from 0 to \(Int(Self.maxStopWait)), not '\(value)'")
            }
            wait = .milliseconds(Int64(seconds * 1000))
        }
        var force = false
        if let value = request.uri.queryParameters["force"] {
            switch value {
            case "true", "1": force = true
            case "false", "0": force = false
            default: throw APIError(.badRequest, "force must be true or false, not '\(value)'")
            }
        }
        switch BodyKind(request) {
        case .form: return try await pages.stopFromForm(id, force: force, request: request, context: context)
        case .otherFormType:
            guard CSRFMiddleware.verify(formToken: nil, context: context) else { throw APIError.csrfMissing }
        case .json, .none: break
        }
        var record = try await supervisor.stop(id, force: force)
        if let wait, !record.status.isTerminal {
            record = try await Self.waitForEnd(of: id, within: wait, supervisor: supervisor) ?? record
        }
        return try .json(
            StopAnswer(runId: id, status: record.status, forced: record.forced),
            status: record.status.isTerminal && wait != nil ? .ok : .accepted)
    }

    /// The longest `?wait=` of a stop, in seconds.
    static let maxStopWait = 300.0

    /// The run's final record if it ends within `limit`, else `nil`.
    static func waitForEnd(of id: RunID, within limit: Duration, supervisor: RunSupervisor) async throws -> RunRecord? {
        await withTaskGroup(of: RunRecord?.self) { group in
            group.addTask { try? await supervisor.waitUntilFinished(id) }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
    }

    // MARK: Input

    static func runID(_ context: AppRequestContext) throws -> RunID {
        let text = context.parameters.get("id") ?? ""
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

    /// The body as JSON, at most 1 MiB.
    static func jsonBody(of request: Request) async throws -> JSONValue {
        let type = request.headers[.contentType]?.lowercased() ?? "application/json"
        guard type.hasPrefix("application/json") else {
            throw APIError(.badRequest, "send the body as JSON (Content-Type: application/json), not \(type)")
        }
        let bytes: ByteBuffer
        do {
            bytes = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.payloadTooLarge, "the body is larger than 1 MiB")
        }
        let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
        do {
            return try JSONValue.parse(text)
        } catch {
            throw APIError(.badRequest, "the body is not valid JSON: \(error)")
        }
    }
}

// MARK: Shapes

struct RunLinks: Encodable {
    var selfLink: String
    var events: String
    var stop: String

    init(id: RunID) {
        selfLink = "/runs/\(id)"
        events = "/runs/\(id)/events"
        stop = "/runs/\(id)/stop"
    }

    enum CodingKeys: String, CodingKey {
        case selfLink = "self"
        case events, stop
    }
}

struct StartedRun: Encodable {
    var runId: RunID
    var status: RunStatus
    var links: RunLinks
}

struct StopAnswer: Encodable {
    var runId: RunID
    var status: RunStatus
    var forced: Bool
}

struct RunPage: Encodable {
    var runs: [RunRecord]
    var next: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runs, forKey: .runs)
        try container.encode(next, forKey: .next)
    }
    enum CodingKeys: String, CodingKey { case runs, next }
}

/// A run with the runs below it and the events of its subtree.
struct RunDetail: Encodable {
    var record: RunRecord
    var runs: [RunRecord]
    var events: [ProgressEvent]

    func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runs, forKey: .runs)
        try container.encode(events, forKey: .events)
    }
    enum CodingKeys: String, CodingKey { case runs, events }
}

struct BulkStopAnswer: Encodable {
    var runIds: [RunID]
    var count: Int
}
