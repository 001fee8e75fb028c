import Foundation
import Hummingbird
import Logging
import Synchronization

/// An OpenAI-compatible chat-completions server on 127.0.0.1 that answers every call after
/// a set delay, counting the calls in flight (their peak is how many runs waited on the LLM
/// at once) and noting when it answered each run, by the `#N` tag in its prompt.
final class StubLLM: Sendable {
    struct Counts: Sendable {
        var inFlight = 0
        var peakInFlight = 0
        var answered = 0
        /// When the answer to the prompt tagged `#N` was handed to the server to write.
        var answeredAt: [Int: ContinuousClock.Instant] = [:]
    }

    let delay: Duration
    let counts = Mutex(Counts())

    init(delay: Duration) {
        self.delay = delay
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
            try? await Task.sleep(for: self.delay)
            let now = ContinuousClock.now
            self.counts.withLock {
                $0.inFlight -= 1
                $0.answered += 1
                if let tag { $0.answeredAt[tag] = now }
            }
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
