import AsyncAlgorithms
import Foundation
import Hummingbird
import TetherCore

/// `GET /runs/{id}/events` (DESIGN §4): the run's subtree as Server-Sent Events.
///
/// Each connection sends one `status` frame per run of the subtree, then replays the logged
/// events after the client's position, then goes live. Only `progress` frames carry
/// `id: <seq>`, so `Last-Event-ID` (or `?after=`) resumes with no gap and no repeat. Live
/// events also produce the `status` frames of the changes they stand for
/// (``TetherCore/ProgressEvent/statusChanges``). Once the run is terminal a `done` frame,
/// built from its `run.finished` event, ends the stream. A comment keeps idle connections
/// open.
///
/// The stream reads the tree's log at its own cursor: a slow client only falls behind, and a
/// client that goes away never touches the run (it is noticed at the next write).
///
/// While an LLM call of the subtree is in flight, `delta` frames carry what it has streamed
/// since the stream's last frame for it (``DeltaCursor``), at most one batch per
/// ``deltaInterval``.
struct EventStream {
    let reads: any RunReadModel
    let keepAliveInterval: Duration
    let limits: SubscriberLimits
    /// How often at most a stream sends the answers in flight (a few frames a second).
    var deltaInterval: Duration = .milliseconds(250)

    enum Item: Sendable {
        case events([EncodedEvent])
        case answers([AnswerInFlight])
        case keepAlive
        /// The tree's log has ended (after its last event, or because a write failed).
        case ended
    }

    /// - Throws: `429 too_many_subscribers` past the limits (``SubscriberLimits``).
    func response(for id: RunID, record: RunRecord, after cursor: Int) throws -> Response {
        let slot = try limits.admit(root: record.rootRunID)
        let reads = self.reads
        let interval = keepAliveInterval
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                // The stream holds its place until its response is gone.
                _ = slot
                let root = record.rootRunID
                let snapshot = try await reads.lastSeq(ofTree: root)
                let subtree = try await reads.subtree(of: id)
                var members = Set(subtree.map(\.id))
                // The last status sent for each run, so a frame never walks a run back.
                var sent: [RunID: RunStatus] = [:]
                for run in subtree {
                    try await writer.write(Frame.status(run.id, run.status))
                    sent[run.id] = run.status
                }
                if let finished = try await reads.finishedEvent(of: id, inTree: root), finished.seq <= cursor,
                    let outcome = finished.outcome
                {
                    try await writer.write(try Frame.done(await completed(outcome)))
                    try await writer.finish(nil)
                    return
                }
                // The timer never ends, so the end of the events is marked explicitly: merge()
                // finishes only when both sides do.
                let events = chain(reads.eventBatches(ofTree: root, after: cursor).map(Item.events), [Item.ended].async)
                let ticks = AsyncTimerSequence(interval: interval, clock: ContinuousClock()).map { _ in Item.keepAlive }
                let answers = reads.answerUpdates(ofTree: root, every: deltaInterval).map(Item.answers)
                var deltas = DeltaCursor(after: cursor)
                loop: for try await item in merge(events, ticks, answers) {
                    let batch: [EncodedEvent]
                    switch item {
                    case .keepAlive:
                        try await writer.write(Frame.keepAlive)
                        continue
                    case .answers(let inFlight):
                        let frames = deltas.frames(for: inFlight.filter { members.contains($0.runID) })
                        if frames.readableBytes > 0 { try await writer.write(frames) }
                        continue
                    case .ended:
                        break loop
                    case .events(let next):
                        batch = next
                    }
                    // The frames of a whole batch go out in one write.
                    var frames = ByteBuffer()
                    for encoded in batch {
                        let event = encoded.event
                        if members.contains(event.runID), let child = event.calledChild { members.insert(child) }
                        guard members.contains(event.runID) else { continue }
                        Frame.appendProgress(encoded, to: &frames)
                        deltas.sent(event)
                        if event.seq > snapshot {
                            for change in event.statusChanges where members.contains(change.runID) {
                                // `run.started` only introduces a run the stream has not shown
                                // yet, with the status it has now (it may already be stopping).
                                var status = change.status
                                if event.kind == .runStarted {
                                    guard sent[change.runID] == nil else { continue }
                                    status = try await reads.record(change.runID)?.status ?? status
                                }
                                guard sent[change.runID].map({ $0.canChange(to: status) }) ?? true else { continue }
                                frames.writeImmutableBuffer(Frame.status(change.runID, status))
                                sent[change.runID] = status
                            }
                        }
                        if event.runID == id, let outcome = event.outcome {
                            frames.writeImmutableBuffer(try Frame.done(await completed(outcome)))
                            try await writer.write(frames)
                            try await writer.finish(nil)
                            return
                        }
                    }
                    if frames.readableBytes > 0 { try await writer.write(frames) }
                }
                // The log ended without this run's `run.finished` (a write failed): the record
                // is all there is to tell, once the run has ended (it fails at its next step).
                if let final = try await finalRecord(of: id, keepingAlive: &writer, every: interval) {
                    try await writer.write(
                        try Frame.done(
                            RunOutcome(
                                runID: id,
                                status: final.status,
                                result: final.result,
                                error: final.error,
                                usage: final.usage?.json,
                                stopReason: final.stopReason?.json
                            )
                        )
                    )
                }
                try await writer.finish(nil)
            }
        )
    }

    /// Waits for run `id` to be terminal, writing a keep-alive comment every `interval`
    /// meanwhile, and returns its final record (`nil` for an unknown run).
    private func finalRecord(
        of id: RunID,
        keepingAlive writer: inout any ResponseBodyWriter,
        every interval: Duration
    ) async throws -> RunRecord? {
        enum Wait: Sendable {
            case finished(RunRecord?)
            case tick
        }
        let reads = self.reads
        while true {
            let next = await withTaskGroup(of: Wait?.self) { group in
                group.addTask {
                    do { return .finished(try await reads.waitUntilFinished(id)) } catch { return Task.isCancelled ? nil : .finished(nil) }
                }
                group.addTask {
                    try? await Task.sleep(for: interval)
                    return .tick
                }
                defer { group.cancelAll() }
                return await group.next() ?? nil
            }
            switch next {
            case .finished(let record): return record
            case .tick, nil: try await writer.write(Frame.keepAlive)
            }
        }
    }

    /// The outcome with its result: a `run.finished` logged before events carried the
    /// result (an older data folder) leaves it to the record.
    private func completed(_ outcome: RunOutcome) async throws -> RunOutcome {
        guard outcome.status == .succeeded, outcome.result == nil else { return outcome }
        var completed = outcome
        completed.result = try await reads.record(outcome.runID)?.result
        return completed
    }
}

/// What one stream has sent of each answer in flight, so each `delta` frame carries only
/// what came since: `{runId, seq, offset, text, chunks, seconds}`, where `offset` is the
/// length (in UTF-16 code units, as JavaScript counts) of the text before `text`. A new
/// stream starts each call at offset 0, with all its text so far.
///
/// Only calls whose `llm.started` the client has get frames, and no call whose end it has:
/// the answers come apart from the events, and a snapshot may be older than them.
struct DeltaCursor {
    private var cursor = AnswerCursor()
    /// The last event the client has.
    private var introduced: Int
    /// Calls whose `llm.finished` or `llm.failed` the client has.
    private var ended = Set<Int>()

    /// For a client that has the events up to `cursor`.
    init(after cursor: Int = 0) {
        introduced = cursor
    }

    /// The client was sent `event`.
    mutating func sent(_ event: ProgressEvent) {
        introduced = max(introduced, event.seq)
        if event.kind == .llmFinished || event.kind == .llmFailed, let started = event.data[ProgressEvent.Key.startedSeq]?.numberValue {
            ended.insert(Int(started))
        }
    }

    mutating func frames(for answers: [AnswerInFlight], now: Date = Date()) -> ByteBuffer {
        var buffer = ByteBuffer()
        let shown = answers.filter { $0.seq <= introduced && !ended.contains($0.seq) }
        for piece in cursor.advance(to: shown).pieces {
            let answer = piece.answer
            let data: JSONValue = [
                "runId": .string(answer.runID.rawValue), "seq": .number(Double(answer.seq)), "offset": .number(Double(piece.offset)),
                "text": .string(String(piece.text)), "chunks": .number(Double(answer.chunks)),
                "seconds": .number((now.timeIntervalSince(answer.startedAt) * 10).rounded() / 10),
            ]
            buffer.writeString("event: delta\ndata: \(data.compactJSON)\n\n")
        }
        return buffer
    }
}

/// The text of the event stream's frames (DESIGN §4).
enum Frame {
    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")

    static func status(_ run: RunID, _ status: RunStatus) -> ByteBuffer {
        ByteBuffer(string: "event: status\ndata: {\"runId\":\"\(run)\",\"status\":\"\(status.rawValue)\"}\n\n")
    }

    /// `progress`, from the JSON the log encoded once for every subscriber.
    static func appendProgress(_ event: EncodedEvent, to buffer: inout ByteBuffer) {
        buffer.writeString("id: \(event.seq)\nevent: progress\ndata: ")
        buffer.writeBytes(event.json)
        buffer.writeString("\n\n")
    }

    /// `done`: `{runId, status, result, error, usage, stopReason}`, every key present
    /// (`usage` is `null` for a run logged before usage was, `stopReason` when no stop was
    /// requested).
    static func done(_ outcome: RunOutcome) throws -> ByteBuffer {
        struct Done: Encodable {
            var outcome: RunOutcome
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(outcome.runID, forKey: .runId)
                try container.encode(outcome.status, forKey: .status)
                try container.encode(outcome.result, forKey: .result)
                try container.encode(outcome.error, forKey: .error)
                try container.encode(outcome.usage, forKey: .usage)
                try container.encode(outcome.stopReason, forKey: .stopReason)
            }
            enum CodingKeys: String, CodingKey { case runId, status, result, error, usage, stopReason }
        }
        let json = String(decoding: try APIJSON.data(Done(outcome: outcome)), as: UTF8.self)
        return ByteBuffer(string: "event: done\ndata: \(json)\n\n")
    }
}
