import Foundation
import Hummingbird
import Logging
import Synchronization

/// An OpenAI-compatible chat-completions server on 127.0.0.1 that answers every call after
/// a set delay, counting the calls in flight (their peak is how many runs waited on the LLM
/// at once) and noting when it answered each run, by the `#N` tag in its prompt.
///
/// With `streamChunks`, a call asking for a stream gets that many chunks, the delay spread
/// over them, each chunk's content the moment it was written (``stamp(_:)``), so that a
/// subscriber of the run can tell how long each took to reach it.
final class StubLLM: Sendable {
    struct Counts: Sendable {
        var inFlight = 0
        var peakInFlight = 0
        var answered = 0
        /// When the answer to the prompt tagged `#N` was handed to the server to write.
        var answeredAt: [Int: ContinuousClock.Instant] = [:]
    }

    let delay: Duration
    let streamChunks: Int
    let counts = Mutex(Counts())
    /// The instant chunk stamps count from.
    let origin = ContinuousClock.now

    init(delay: Duration, streamChunks: Int = 0) {
        self.delay = delay
        self.streamChunks = streamChunks
    }

    /// A chunk's content: `[t=N]`, N the nanoseconds from ``origin`` to `instant`.
    func stamp(_ instant: ContinuousClock.Instant) -> String {
        let elapsed = instant - origin
        return "[t=\(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)]"
    }

    /// The instants of the stamps in `text`.
    func instants(in text: Substring) -> [ContinuousClock.Instant] {
        text.split(separator: "[t=").compactMap { part in
            Int64(part.prefix { $0.isNumber }).map { origin + .nanoseconds($0) }
        }
    }

    /// The answer as `chat.completion.chunk` events, one every `delay / streamChunks`.
    private func streamedAnswer(tag: Int?) -> ResponseBody {
        ResponseBody { writer in
            let pause = self.delay / max(1, self.streamChunks)
            for _ in 0..<self.streamChunks {
                try? await Task.sleep(for: pause)
                let chunk =
                    #"{"id":"stub","object":"chat.completion.chunk","model":"stub","choices":[{"index":0,"delta":{"content":"\#(self.stamp(.now))"},"finish_reason":null}]}"#
                try await writer.write(ByteBuffer(string: "data: \(chunk)\n\n"))
            }
            self.answered(tag: tag)
            let tail =
                #"{"id":"stub","object":"chat.completion.chunk","model":"stub","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#
            try await writer.write(ByteBuffer(string: "data: \(tail)\n\ndata: [DONE]\n\n"))
            try await writer.finish(nil)
        }
    }

    private func answered(tag: Int?) {
        let now = ContinuousClock.now
        counts.withLock {
            $0.inFlight -= 1
            $0.answered += 1
            if let tag { $0.answeredAt[tag] = now }
        }
    }

    /// Serves until the calling task is cancelled; `onPort` is told the bound port.
    func serve(onPort: @escaping @Sendable (Int) async -> Void) async throws {
        let router = Router()
        router.post("v1/chat/completions") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let text = String(buffer: body)
            let tag = text.range(of: "#").flatMap { Int(text[$0.upperBound...].prefix { $0.isNumber }) }
            self.counts.withLock {
                $0.inFlight += 1
                $0.peakInFlight = max($0.peakInFlight, $0.inFlight)
            }
            if self.streamChunks > 0, text.contains(#""stream":true"#) {
                return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: self.streamedAnswer(tag: tag))
            }
            try? await Task.sleep(for: self.delay)
            self.answered(tag: tag)
            let answer =
                #"{"id":"stub","object":"chat.completion","model":"stub","choices":[{"index":0,"message":{"role":"assistant","content":"An answer."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: answer))
            )
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "stub-llm", backlog: 4096),
            onServerRunning: { await onPort($0.localAddress?.port ?? 0) },
            logger: Logger(label: "stub-llm") { _ in SwiftLogNoOpLogHandler() }
        )
        try await app.runService(gracefulShutdownSignals: [])
    }
}
