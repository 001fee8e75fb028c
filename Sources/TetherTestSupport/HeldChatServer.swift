import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TetherCore

/// An OpenAI-compatible `POST /v1/chat/completions` server on 127.0.0.1 for tests. It can
/// hold each answer until the test releases it, and records what happened on the wire:
/// requests received, responses written in full, and connections the client closed while
/// an answer was still owed (an aborted call).
///
/// It answers with one JSON completion, ignoring `stream` as servers without streaming do,
/// unless started with a ``Streaming`` mode (see `HeldChatServer+Streaming.swift`).
public final class HeldChatServer: Sendable {
    /// What the server has seen so far.
    public struct Snapshot: Sendable {
        /// Each request's JSON body, in arrival order.
        public var requests: [JSONValue] = []
        /// Each request's `Authorization` header, or `nil`.
        public var authorizations: [String?] = []
        /// Responses whose every byte was written (head, body, end).
        public var completedResponses = 0
        /// Connections closed by the client while a response was owed.
        public var abortedRequests = 0
        /// Requests released so far (indices).
        var released: Set<Int> = []
        var releaseAll = false
        /// Chunks written so far, by request index (streamed answers).
        public var chunksSent: [Int: Int] = [:]
        /// Chunks each streamed answer may write so far, when the chunks are held.
        var chunksReleased: [Int: Int] = [:]
        var allChunksReleased = false
    }

    public let port: Int
    let snapshot: Condition<Snapshot>
    let answer: @Sendable (Int, JSONValue) -> String
    /// How a request that asks for a stream is answered; `nil`: as a plain JSON completion.
    let streaming: Streaming?
    private let serverTask: Mutex<Task<Void, Never>?> = Mutex(nil)

    /// The base URL to configure the `openai` provider with.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// What the server has seen so far.
    public var state: Snapshot { snapshot.value }

    /// An answer other than a chat completion: a status, headers and a body (a fault).
    public struct Fault: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: String
        /// Whether the connection is closed in the middle of the body (it announces more).
        public var closesMidAnswer: Bool
        /// Whether the connection is closed after the request, before any answer.
        public var closesWithoutAnswering = false

        public init(
            status: Int,
            headers: [(String, String)] = [],
            body: String = #"{"error": {"message": "fault"}}"#,
            closesMidAnswer: Bool = false
        ) {
            self.status = status
            self.headers = headers
            self.body = body
            self.closesMidAnswer = closesMidAnswer
        }

        /// The connection closed after the request, with no answer at all.
        public static var closedWithoutAnswering: Fault {
            var fault = Fault(status: 0)
            fault.closesWithoutAnswering = true
            return fault
        }
    }

    /// For request `index` (0-based), a fault to answer with instead of a completion.
    let fault: @Sendable (Int) -> Fault?

    private init(
        port: Int,
        snapshot: Condition<Snapshot>,
        answer: @escaping @Sendable (Int, JSONValue) -> String,
        fault: @escaping @Sendable (Int) -> Fault?,
        streaming: Streaming?
    ) {
        self.port = port
        self.snapshot = snapshot
        self.answer = answer
        self.fault = fault
        self.streaming = streaming
    }

    /// Starts a server on a free loopback port.
    /// - Parameters:
    ///   - holdAnswers: whether each answer waits for ``release(_:)`` (or ``releaseAll()``).
    ///   - answer: the assistant text for request `index` (0-based) with its JSON body.
    ///   - streaming: how to answer requests with `"stream": true`; `nil` ignores it.
    public static func start(
        holdAnswers: Bool,
        answer: @escaping @Sendable (Int, JSONValue) -> String = { index, _ in "Answer \(index + 1)." },
        fault: @escaping @Sendable (Int) -> Fault? = { _ in nil },
        streaming: Streaming? = nil
    ) async throws -> HeldChatServer {
        let snapshot = Condition(Snapshot(releaseAll: !holdAnswers))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        let server = HeldChatServer(
            port: channel.channel.localAddress!.port!,
            snapshot: snapshot,
            answer: answer,
            fault: fault,
            streaming: streaming
        )
        let task = Task<Void, Never> {
            _ = try? await channel.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await server.serve(connection) }
                    }
                }
            }
        }
        server.serverTask.withLock { $0 = task }
        return server
    }

    /// Lets request `index` (0-based) be answered.
    public func release(_ index: Int) {
        snapshot.update { _ = $0.released.insert(index) }
    }

    /// Lets every request, held or future, be answered, and every streamed chunk be sent.
    public func releaseAll() {
        snapshot.update {
            $0.releaseAll = true
            $0.allChunksReleased = true
        }
    }

    /// Returns once at least `count` requests have arrived.
    public func waitForRequests(_ count: Int) async {
        await snapshot.wait { $0.requests.count >= count }
    }

    /// Returns once at least `count` responses were written in full.
    public func waitForCompletedResponses(_ count: Int) async {
        await snapshot.wait { $0.completedResponses >= count }
    }

    /// Returns once `predicate` holds for what the server has seen.
    public func waitUntil(_ predicate: @escaping @Sendable (Snapshot) -> Bool) async {
        await snapshot.wait(until: predicate)
    }

    /// Stops accepting and closes every connection.
    public func shutdown() async {
        let task = serverTask.withLock { $0 }
        task?.cancel()
        await task?.value
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        let owed = Mutex(0)
        connection.channel.closeFuture.whenComplete { [snapshot] _ in
            let stillOwed = owed.withLock { $0 }
            if stillOwed > 0 { snapshot.update { $0.abortedRequests += stillOwed } }
        }
        try? await connection.executeThenClose { inbound, outbound in
            var body = ByteBuffer()
            var authorization: String?
            for try await part in inbound {
                switch part {
                case .head(let head):
                    body.clear()
                    authorization = head.headers["Authorization"].first
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    let json = (try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))) ?? .null
                    owed.withLock { $0 += 1 }
                    let index = snapshot.update { state in
                        state.requests.append(json)
                        state.authorizations.append(authorization)
                        return state.requests.count - 1
                    }
                    await snapshot.wait { $0.releaseAll || $0.released.contains(index) }
                    try Task.checkCancellation()
                    if let fault = fault(index) {
                        if fault.closesWithoutAnswering {
                            owed.withLock { $0 -= 1 }
                            outbound.finish()
                            try await connection.channel.close()
                            return
                        }
                        let bytes = ByteBuffer(string: fault.body)
                        var head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: fault.status))
                        for (name, value) in fault.headers { head.headers.add(name: name, value: value) }
                        if fault.closesMidAnswer {
                            head.headers.add(name: "Content-Length", value: String(bytes.readableBytes + 1000))
                            try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(bytes))])
                            owed.withLock { $0 -= 1 }
                            outbound.finish()
                            try await connection.channel.close()
                            return
                        }
                        head.headers.add(name: "Content-Length", value: String(bytes.readableBytes))
                        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(bytes)), .end(nil)])
                        owed.withLock { $0 -= 1 }
                        snapshot.update { $0.completedResponses += 1 }
                        continue
                    }
                    let text = answer(index, json)
                    if let streaming, json["stream"] == true {
                        let finished = try await stream(text, for: index, request: json, as: streaming, to: outbound)
                        owed.withLock { $0 -= 1 }
                        guard finished else {
                            if streaming.keepsOpenAfterDone { try await connection.channel.closeFuture.get() }
                            outbound.finish()
                            try? await connection.channel.close()
                            return
                        }
                        snapshot.update { $0.completedResponses += 1 }
                        continue
                    }
                    let payload: JSONValue = [
                        "id": .string("chatcmpl-\(index + 1)"), "object": "chat.completion", "model": "test-model",
                        "choices": [["index": 0, "message": ["role": "assistant", "content": .string(text)], "finish_reason": "stop"]],
                        "usage": ["prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18],
                    ]
                    let bytes = ByteBuffer(string: payload.compactJSON)
                    var head = HTTPResponseHead(version: .http1_1, status: .ok)
                    head.headers.add(name: "Content-Type", value: "application/json")
                    head.headers.add(name: "Content-Length", value: String(bytes.readableBytes))
                    try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(bytes)), .end(nil)])
                    owed.withLock { $0 -= 1 }
                    snapshot.update { $0.completedResponses += 1 }
                }
            }
        }
    }
}
