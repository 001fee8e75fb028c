import AsyncAlgorithms
import Foundation
import Hummingbird
import TetherCore
import TetherRuntime

/// `GET /runs/{id}/events` (DESIGN §4): the run's subtree as Server-Sent Events.
///
/// Each connection sends one `status` frame per run of the subtree, then replays the logged
/// events after the client's position, then goes live. Only `progress` frames carry
/// `id: <seq>`, so `Last-Event-ID` (or `?after=`) resumes with no gap and no repeat. Live
/// events also produce `status` frames for the runs they change. Once the run is terminal a
/// `done` frame ends the stream. A comment keeps idle connections open.
///
/// The stream reads the tree's log at its own cursor: a slow client only falls behind, and a
/// client that goes away never touches the run (it is noticed at the next write).
struct EventStream {
    let supervisor: RunSupervisor
    let keepAliveInterval: Duration

    enum Item: Sendable {
        case event(ProgressEvent)
        case keepAlive
        /// The tree's log has ended (after its last event, or because a write failed).
        case ended
    }

    func response(for id: RunID, record: RunRecord, after cursor: Int) -> Response {
        let supervisor = self.supervisor
        let interval = keepAliveInterval
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                let root = record.rootRunID
                let snapshot = try await supervisor.lastSeq(ofTree: root)
                let subtree = try await supervisor.subtree(of: id)
                var members = Set(subtree.map(\.id))
                // The last status sent for each run, so a frame never walks a run back.
                var sent: [RunID: RunStatus] = [:]
                for run in subtree {
                    try await writer.write(Frame.status(run.id, run.status))
                    sent[run.id] = run.status
                }
                if let finished = try await supervisor.finishedEvent(of: id, inTree: root), finished.seq <= cursor {
                    try await writer.write(try await Frame.done(id, finished, supervisor))
                    try await writer.finish(nil)
                    return
                }
                // The timer never ends, so the end of the events is marked explicitly: merge()
                // finishes only when both sides do.
                let events = chain(supervisor.events(ofTree: root, after: cursor).map(Item.event), [Item.ended].async)
                let ticks = AsyncTimerSequence(interval: interval, clock: ContinuousClock()).map { _ in Item.keepAlive }
                var sentDone = false
                loop: for try await item in merge(events, ticks) {
                    let event: ProgressEvent
                    switch item {
                    case .keepAlive:
                        try await writer.write(Frame.keepAlive)
                        continue
                    case .ended:
                        break loop
                    case .event(let next):
                        event = next
                    }
                    if event.kind == .agentCalled, members.contains(event.runID),
                        let child = event.data["runId"]?.stringValue
                    {
                        members.insert(RunID(stored: child))
                    }
                    guard members.contains(event.runID) else { continue }
                    try await writer.write(try Frame.progress(event))
                    if event.seq > snapshot {
                        for (run, derived) in Frame.statusChanges(in: event, among: members) {
                            // `run.started` only introduces a run the stream has not shown yet,
                            // with the status it has now (it may already be stopping).
                            var status = derived
                            if event.kind == .runStarted {
                                guard sent[run] == nil else { continue }
                                status = try await supervisor.record(run)?.status ?? derived
                            }
                            guard sent[run] != status else { continue }
                            try await writer.write(Frame.status(run, status))
                            sent[run] = status
                        }
                    }
                    if event.kind == .runFinished, event.runID == id {
                        try await writer.write(try await Frame.done(id, event, supervisor))
                        sentDone = true
                        break
                    }
                }
                if !sentDone, let final = try await supervisor.record(id) {
                    try await writer.write(try Frame.done(final))
                }
                try await writer.finish(nil)
            })
    }
}

/// The text of SSE frames.
enum Frame {
    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")

    static func status(_ run: RunID, _ status: RunStatus) -> ByteBuffer {
        ByteBuffer(string: "event: status\ndata: {\"runId\":\"\(run)\",\"status\":\"\(status.rawValue)\"}\n\n")
    }

    static func progress(_ event: ProgressEvent) throws -> ByteBuffer {
        let json = String(decoding: try APIJSON.data(event), as: UTF8.self)
        return ByteBuffer(string: "id: \(event.seq)\nevent: progress\ndata: \(json)\n\n")
    }

    static func done(_ id: RunID, _ finished: ProgressEvent, _ supervisor: RunSupervisor) async throws -> ByteBuffer {
        var record = try await supervisor.record(id)
        if let status = finished.data["status"]?.stringValue.flatMap(RunStatus.init(rawValue:)) {
            record?.status = status
        }
        guard let record else { throw APIError(.notFound, "no run has the id \(id)") }
        return try done(record)
    }

    static func done(_ record: RunRecord) throws -> ByteBuffer {
        struct Done: Encodable {
            var runId: RunID
            var status: RunStatus
            var result: JSONValue?
            var error: String?
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(runId, forKey: .runId)
                try container.encode(status, forKey: .status)
                try container.encode(result, forKey: .result)
                try container.encode(error, forKey: .error)
            }
            enum CodingKeys: String, CodingKey { case runId, status, result, error }
        }
        let body = Done(runId: record.id, status: record.status, result: record.result, error: record.error)
        let json = String(decoding: try APIJSON.data(body), as: UTF8.self)
        return ByteBuffer(string: "event: done\ndata: \(json)\n\n")
    }

    /// The status changes an event stands for: `run.started` (running), `stop.requested`
    /// (every run it lists becomes stopping), `run.finished` (its final status).
    static func statusChanges(in event: ProgressEvent, among members: Set<RunID>) -> [(RunID, RunStatus)] {
        switch event.kind {
        case .runStarted:
            return [(event.runID, .running)]
        case .stopRequested:
            let ids = event.data["runIds"]?.arrayValue?.compactMap(\.stringValue).map(RunID.init(stored:)) ?? [event.runID]
            return ids.filter(members.contains).map { ($0, .stopping) }
        case .runFinished:
            guard let status = event.data["status"]?.stringValue.flatMap(RunStatus.init(rawValue:)) else { return [] }
            return [(event.runID, status)]
        default:
            return []
        }
    }
}
