import Foundation
import Synchronization
import TetherCore
import TetherRuntime

/// The answers in flight across instances. They are never stored: an instance streaming a
/// tree elsewhere asks for them (`watch ROOT`, renewed every ``AnswerWatches/renewal``), and
/// the executing instance publishes what its calls stream while asked (``AnswerPublisher``),
/// each piece as an `answer {…}` notice on the cluster's channel (``AnswerNotice``).
struct AnswerNotice: Sendable, Equatable {
    var root: RunID
    var runID: RunID
    var seq: Int
    var startedAt: Date
    /// Where `text` goes in the call's text, in UTF-16 code units; 0 begins it afresh.
    var offset: Int
    var text: String
    var chunks: Int
    /// The call ended: nothing else counts.
    var ended = false

    /// Text per notice, in UTF-8 bytes: with JSON's escapes at worst six times as long, a
    /// notice stays under PostgreSQL's 8,000-byte payload limit.
    static let maxTextBytes = 1_000

    var payload: String {
        var json: [String: JSONValue] = ["root": .string(root.rawValue), "seq": .number(Double(seq))]
        if ended {
            json["ended"] = true
        } else {
            json["runId"] = .string(runID.rawValue)
            json["startedAt"] = .number((startedAt.timeIntervalSince1970 * 1000).rounded())
            json["offset"] = .number(Double(offset))
            json["text"] = .string(text)
            json["chunks"] = .number(Double(chunks))
        }
        return "answer " + JSONValue.object(json).compactJSON
    }

    init(root: RunID, runID: RunID, seq: Int, startedAt: Date, offset: Int, text: String, chunks: Int, ended: Bool = false) {
        self.root = root
        self.runID = runID
        self.seq = seq
        self.startedAt = startedAt
        self.offset = offset
        self.text = text
        self.chunks = chunks
        self.ended = ended
    }

    /// From a notice's payload after `answer `.
    init?(json text: Substring) {
        guard let json = try? JSONValue.parse(String(text)), let root = json["root"]?.stringValue.map(RunID.init(stored:)),
            let seq = json["seq"]?.numberValue.map(Int.init)
        else { return nil }
        if json["ended"] == true {
            self.init(root: root, runID: root, seq: seq, startedAt: Date(), offset: 0, text: "", chunks: 0, ended: true)
            return
        }
        guard let run = json["runId"]?.stringValue, let started = json["startedAt"]?.numberValue,
            let offset = json["offset"]?.numberValue, let piece = json["text"]?.stringValue
        else { return nil }
        self.init(
            root: root,
            runID: RunID(stored: run),
            seq: seq,
            startedAt: Date(timeIntervalSince1970: started / 1000),
            offset: Int(offset),
            text: piece,
            chunks: Int(json["chunks"]?.numberValue ?? 0)
        )
    }

    /// `text` placed at `offset`, cut into notices of at most ``maxTextBytes`` each.
    static func pieces(of answer: AnswerInFlight, root: RunID, from offset: Int, text: Substring) -> [AnswerNotice] {
        var notices: [AnswerNotice] = []
        var piece = ""
        var at = offset
        func flush() {
            notices.append(
                AnswerNotice(
                    root: root,
                    runID: answer.runID,
                    seq: answer.seq,
                    startedAt: answer.startedAt,
                    offset: at,
                    text: piece,
                    chunks: answer.chunks
                )
            )
            at += piece.utf16.count
            piece = ""
        }
        for character in text {
            if piece.utf8.count + character.utf8.count > maxTextBytes, !piece.isEmpty { flush() }
            piece.append(character)
        }
        if !piece.isEmpty { flush() }
        return notices
    }
}

/// On the executing instance: publishes the answers in flight of each tree another instance
/// watches, while the watch lasts.
final class AnswerPublisher: Sendable {
    private struct Publication {
        var until: ContinuousClock.Instant
        /// A watcher missed a notice: everything is sent again from offset 0.
        var resend = false
    }

    /// A watch not renewed for this long ends.
    static let watchLasts = Duration.seconds(6)
    private let publications = Mutex<[RunID: Publication]>([:])
    private let notify: @Sendable (String) async -> Void

    init(notify: @escaping @Sendable (String) async -> Void) {
        self.notify = notify
    }

    /// Another instance watches `root`: publishes its answers if this instance executes it.
    func watch(_ root: RunID, resend: Bool, reads: LocalRunReads) {
        let until = ContinuousClock.now + Self.watchLasts
        let isNew = publications.withLock { publications -> Bool in
            if publications[root] != nil {
                publications[root]?.until = until
                if resend { publications[root]?.resend = true }
                return false
            }
            publications[root] = Publication(until: until)
            return true
        }
        guard isNew else { return }
        guard let updates = reads.localAnswerUpdates(ofTree: root, every: .milliseconds(250)) else {
            _ = publications.withLock { $0.removeValue(forKey: root) }
            return
        }
        Task { await publish(root, updates) }
    }

    private func publish(_ root: RunID, _ updates: AsyncStream<[AnswerInFlight]>) async {
        defer { _ = publications.withLock { $0.removeValue(forKey: root) } }
        var cursor = AnswerCursor()
        for await answers in updates {
            let (until, resend) = publications.withLock { publications in
                let publication = publications[root]
                publications[root]?.resend = false
                return (publication?.until ?? .now, publication?.resend ?? false)
            }
            guard ContinuousClock.now < until else { return }
            if resend { cursor.reset() }
            let (pieces, ended) = cursor.advance(to: answers)
            for piece in pieces {
                for notice in AnswerNotice.pieces(of: piece.answer, root: root, from: piece.offset, text: piece.text) {
                    await notify(notice.payload)
                }
            }
            for seq in ended {
                await notify(AnswerNotice(root: root, runID: root, seq: seq, startedAt: Date(), offset: 0, text: "", chunks: 0, ended: true).payload)
            }
        }
    }
}

/// On an instance streaming trees that others execute: a board per watched tree, fed by the
/// executing instance's notices, while it has readers.
final class AnswerWatches: Sendable {
    private struct Watch {
        let board: AnswersInFlight
        var readers: Int
        var renewing: Task<Void, Never>?
    }

    /// How often a watch is renewed (well within ``AnswerPublisher/watchLasts``).
    static let renewal = Duration.seconds(2)
    private let watches = Mutex<[RunID: Watch]>([:])
    /// Sends `watch ROOT` (with `resend`: `watch ROOT resend`).
    private let ask: @Sendable (RunID, Bool) async -> Void

    init(ask: @escaping @Sendable (RunID, Bool) async -> Void) {
        self.ask = ask
    }

    func updates(ofTree root: RunID, every interval: Duration) -> AsyncStream<[AnswerInFlight]> {
        let board = watches.withLock { watches -> AnswersInFlight in
            if let watch = watches[root] {
                watches[root]?.readers += 1
                return watch.board
            }
            let board = AnswersInFlight()
            let ask = self.ask
            let renewing = Task {
                while !Task.isCancelled {
                    await ask(root, false)
                    try? await Task.sleep(for: Self.renewal)
                }
            }
            watches[root] = Watch(board: board, readers: 1, renewing: renewing)
            return board
        }
        let source = board.updates(every: interval)
        let (stream, continuation) = AsyncStream.makeStream(of: [AnswerInFlight].self, bufferingPolicy: .bufferingNewest(1))
        let forwarding = Task {
            for await answers in source { continuation.yield(answers) }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            forwarding.cancel()
            self.leave(root)
        }
        return stream
    }

    func snapshot(ofTree root: RunID) -> [AnswerInFlight] {
        watches.withLock { $0[root]?.board }?.snapshot ?? []
    }

    func receive(_ notice: AnswerNotice) {
        guard let board = watches.withLock({ $0[notice.root]?.board }) else { return }
        if notice.ended {
            board.end(notice.seq)
            return
        }
        let continued = board.receive(
            runID: notice.runID,
            seq: notice.seq,
            startedAt: notice.startedAt,
            offset: notice.offset,
            text: notice.text,
            chunks: notice.chunks
        )
        if !continued {
            let ask = self.ask
            Task { await ask(notice.root, true) }
        }
    }

    private func leave(_ root: RunID) {
        let ended = watches.withLock { watches -> Watch? in
            watches[root]?.readers -= 1
            guard let watch = watches[root], watch.readers <= 0 else { return nil }
            watches[root] = nil
            return watch
        }
        ended?.renewing?.cancel()
        ended?.board.close()
    }
}
