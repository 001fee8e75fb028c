import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TetherCore
import TetherRuntime

/// The JSON API of runs (DESIGN §4).
struct RunsController {
    let supervisor: RunSupervisor
    let reads: any RunReadModel
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
        var runs = try await reads.listRuns(query.runQuery(limit: query.limit + 1))
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
        let subtree = try await reads.subtree(of: id)
        guard let record = subtree.first else { throw APIError(.notFound, "no run has the id \(id)") }
        let members = Set(subtree.map(\.id))
        let events = try await reads.loggedEvents(ofTree: record.rootRunID).filter { members.contains($0.runID) }
        return try .json(RunDetail(record: record, runs: Array(subtree.dropFirst()), events: events))
    }

    /// `GET /runs/{id}/events` → SSE.
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
            record = try await Self.waitForEnd(of: id, within: wait, reads: reads) ?? record
        }
        return try .json(
            StopAnswer(runId: id, status: record.status, forced: record.forced),
            status: record.status.isTerminal && wait != nil ? .ok : .accepted)
    }

    /// The longest `?wait=` of a stop, in seconds.
    static let maxStopWait = 300.0

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

/// `?status=&agent=&limit=&cursor=` of `GET /runs`, checked.
struct RunListQuery {
    var status: RunStatus?
    var agent: String?
    var limit = 50
    var before: RunPosition?

    static let maxLimit = 500

    /// - Parameter parameter: the query parameter of that name, if given.
    init(_ parameter: (String) -> String?) throws {
        if let text = parameter("status") {
            guard let status = RunStatus(rawValue: String(text)) else {
                let all = RunStatus.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError(.badRequest, "status must be one of \(all), not '\(text)'")
            }
            self.status = status
        }
        if let text = parameter("agent"), !text.isEmpty { agent = String(text) }
        if let text = parameter("limit") {
            guard let limit = Int(text), (1...Self.maxLimit).contains(limit) else {
                throw APIError(.badRequest, "limit must be a whole number from 1 to \(Self.maxLimit), not '\(text)'")
            }
            self.limit = limit
        }
        if let text = parameter("cursor"), !text.isEmpty {
            guard let position = RunCursor.decode(String(text)) else {
                throw APIError(.badRequest, "cursor '\(text)' is not one this server gave out")
            }
            before = position
        }
    }

    /// The query as a link's query string, at `cursor`.
    func link(cursor: String?) -> String {
        var pairs: [(String, String)] = []
        if let status { pairs.append(("status", status.rawValue)) }
        if let agent { pairs.append(("agent", agent)) }
        if limit != 50 { pairs.append(("limit", String(limit))) }
        if let cursor { pairs.append(("cursor", cursor)) }
        return QueryString.encode(pairs)
    }

    func runQuery(limit: Int) -> RunQuery {
        // Child runs appear under their root, as their own rows only when filtered for.
        RunQuery(status: status, agent: agent, limit: limit, before: before, includeChildren: agent != nil || status != nil)
    }
}

/// The opaque `cursor` of `GET /runs`: a page boundary, base64url of the last run's creation
/// time and id.
enum RunCursor {
    static func encode(_ position: RunPosition) -> String {
        // Date's own storage, so the position survives the round trip exactly.
        let raw = "\(position.createdAt.timeIntervalSinceReferenceDate)|\(position.id.rawValue)"
        return Data(raw.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> RunPosition? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let raw = String(data: data, encoding: .utf8) else { return nil }
        let parts = raw.split(separator: "|").map(String.init)
        guard parts.count == 2, let seconds = Double(parts[0]), seconds.isFinite, let id = RunID(validating: parts[1]) else {
            return nil
        }
        return RunPosition(createdAt: Date(timeIntervalSinceReferenceDate: seconds), id: id)
    }
}

struct BulkStopAnswer: Encodable {
    var runIds: [RunID]
    var count: Int
}

/// `?agent=&status=` of a bulk stop: `status` may only name an in-flight status.
struct BulkStopFilter: Sendable {
    var agent: String?
    var status: RunStatus?

    init(_ request: Request) throws {
        let parameters = request.uri.queryParameters
        if let agent = parameters["agent"], !agent.isEmpty { self.agent = String(agent) }
        if let text = parameters["status"], !text.isEmpty {
            guard let status = RunStatus(rawValue: String(text)), status.isInFlight else {
                throw APIError(.badRequest, "a bulk stop's status must be running or stopping, not '\(text)'")
            }
            self.status = status
        }
    }

    /// The filter as a query string, for links back.
    func query(extra: [String: String] = [:]) -> String {
        var pairs: [(String, String)] = []
        if let agent { pairs.append(("agent", agent)) }
        if let status { pairs.append(("status", status.rawValue)) }
        pairs += extra.sorted { $0.key < $1.key }
        return QueryString.encode(pairs)
    }

    static func escape(_ text: String) -> String {
        QueryString.escape(text)
    }
}

/// Query strings of the links the pages render.
enum QueryString {
    /// `a=1&b=x%20y`, in the order given.
    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0)=\(escape($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes everything but unreserved characters.
    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
