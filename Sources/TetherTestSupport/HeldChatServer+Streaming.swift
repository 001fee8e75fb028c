import NIOCore
import NIOHTTP1
import TetherCore

extension HeldChatServer {
    /// How the server streams an answer when the request asks for it (`"stream": true`), as
    /// OpenAI does: `chat.completion.chunk` events, a last one with `finish_reason`, then the
    /// usage (when the request has `stream_options.include_usage`) and `[DONE]`.
    public struct Streaming: Sendable {
        /// Cuts an answer into the chunks' contents (they must join to it).
        public var chunks: @Sendable (String) -> [String]
        /// Whether each chunk waits for ``HeldChatServer/releaseChunks(of:upTo:)``.
        public var holdsChunks: Bool
        /// Closes the connection after this many chunks, mid-stream.
        public var closesAfterChunks: Int?
        /// Keeps the response open after `[DONE]`, until the server shuts down.
        public var keepsOpenAfterDone: Bool

        public init(
            holdsChunks: Bool = false,
            closesAfterChunks: Int? = nil,
            keepsOpenAfterDone: Bool = false,
            chunks: @escaping @Sendable (String) -> [String] = Streaming.words
        ) {
            self.chunks = chunks
            self.holdsChunks = holdsChunks
            self.closesAfterChunks = closesAfterChunks
            self.keepsOpenAfterDone = keepsOpenAfterDone
        }

        /// Each word with the space before it.
        public static let words: @Sendable (String) -> [String] = { text in
            var chunks: [String] = []
            for (index, word) in text.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
                chunks.append(index == 0 ? String(word) : " " + word)
            }
            return chunks
        }
    }

    /// Lets streamed answer `index` write its first `count` chunks (with ``Streaming/holdsChunks``).
    public func releaseChunks(of index: Int, upTo count: Int) {
        snapshot.update { $0.chunksReleased[index] = max(count, $0.chunksReleased[index] ?? 0) }
    }

    /// Returns once streamed answer `index` has written at least `count` chunks.
    public func waitForChunksSent(of index: Int, count: Int) async {
        await snapshot.wait { $0.chunksSent[index, default: 0] >= count }
    }

    /// Streams `text` as the answer to request `index`; `false` if the response is not ended:
    /// cut mid-stream (``Streaming/closesAfterChunks``) or kept open after `[DONE]`
    /// (``Streaming/keepsOpenAfterDone``, until the client closes the connection).
    func stream(
        _ text: String,
        for index: Int,
        request: JSONValue,
        as streaming: Streaming,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws -> Bool {
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Content-Type", value: "text/event-stream")
        head.headers.add(name: "Cache-Control", value: "no-cache")
        try await outbound.write(.head(head))
        let id = JSONValue.string("chatcmpl-\(index + 1)")
        for (number, chunk) in streaming.chunks(text).enumerated() {
            if streaming.holdsChunks {
                await snapshot.wait { $0.allChunksReleased || $0.chunksReleased[index, default: 0] > number }
                try Task.checkCancellation()
            }
            if streaming.closesAfterChunks == number { return false }
            let event: JSONValue = [
                "id": id, "object": "chat.completion.chunk", "model": "test-model",
                "choices": [["index": 0, "delta": ["content": .string(chunk)], "finish_reason": nil]],
            ]
            try await outbound.write(.body(.byteBuffer(Self.frame(event))))
            snapshot.update { $0.chunksSent[index, default: 0] += 1 }
        }
        var tail = Self.frame([
            "id": id, "object": "chat.completion.chunk", "model": "test-model",
            "choices": [["index": 0, "delta": [:], "finish_reason": "stop"]],
        ])
        if request["stream_options"]?["include_usage"] == true {
            var usage = Self.frame([
                "id": id, "object": "chat.completion.chunk", "model": "test-model", "choices": [],
                "usage": ["prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18],
            ])
            tail.writeBuffer(&usage)
        }
        tail.writeString("data: [DONE]\n\n")
        guard !streaming.keepsOpenAfterDone else {
            try await outbound.write(.body(.byteBuffer(tail)))
            snapshot.update { $0.completedResponses += 1 }
            return false
        }
        try await outbound.write(contentsOf: [.body(.byteBuffer(tail)), .end(nil)])
        return true
    }

    private static func frame(_ event: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "data: \(event.compactJSON)\n\n")
    }
}
