import NIOCore
import NIOHTTP1
import TetherCore

/// Answers a request that NIO's HTTP parser refuses (a request line or headers past
/// ``HTTP1Connections``' limits, or bytes that are not HTTP) with the JSON error of DESIGN §4
/// and the security headers: `431 headers_too_large` or `400 bad_request`, in place of the bare
/// `400` without a body that Hummingbird writes. Then it closes the connection's output: after
/// a parse error nothing more can be read from it.
///
/// Pipelined requests keep their order: when requests read before the bad one are still
/// being answered, the error's answer waits for the last of their responses to end. When the
/// parse error falls inside a request's body, that request's handler answers it (a body that
/// breaks off is `400`), and this handler only closes the output once that response ends.
final class ParserErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Requests whose head was read, and responses that ended.
    private var requestsRead = 0
    private var responsesEnded = 0
    /// A request's head was read and its end not yet.
    private var readingBody = false
    /// A parse error seen, answered once the responses before it have ended.
    private var pending: HTTPParserError?
    /// The error was answered (or left to the request it broke): later writes — Hummingbird's
    /// own bare `400` — are dropped.
    private var done = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsRead += 1
            readingBody = true
        case .end: readingBody = false
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIO can report one parse error twice; only the first one counts.
        if let parserError = error as? HTTPParserError, pending == nil, !done {
            if readingBody {
                // The request being read answers for itself; nothing may follow it.
                pending = parserError
                done = responsesEnded == requestsRead
                if done { context.close(mode: .output, promise: nil) }
            } else {
                pending = parserError
                answerIfDue(context: context)
            }
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if done {
            promise?.succeed()
            return
        }
        context.write(data, promise: promise)
        if case .end = unwrapOutboundIn(data) {
            responsesEnded += 1
            answerIfDue(context: context)
        }
    }

    /// Writes the pending error's answer once every request read before it has its response.
    private func answerIfDue(context: ChannelHandlerContext) {
        guard let error = pending, !done, responsesEnded == requestsRead else { return }
        done = true
        if readingBody {
            context.close(mode: .output, promise: nil)
            return
        }
        let answer = Self.answer(to: error)
        var body = context.channel.allocator.buffer(capacity: 256)
        body.writeString(answer.json)
        var headers = HTTPHeaders([
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", String(body.readableBytes)),
            ("Connection", "close"),
        ])
        for (name, value) in SecurityHeaders.fields { headers.add(name: name.rawName, value: value) }
        let head = HTTPResponseHead(version: .http1_1, status: answer.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        // Closing the output (not the whole connection) sends the answer and then an end of
        // file, with no reset that could throw the answer away before the client reads it.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
        }
    }

    static func answer(to error: HTTPParserError) -> (status: HTTPResponseStatus, json: String) {
        let (status, code, message): (HTTPResponseStatus, String, String)
        if error == .headerOverflow {
            (status, code, message) = (
                .requestHeaderFieldsTooLarge, APIError.Code.headersTooLarge.rawValue,
                "the request's head is too large: the URL, and each header's name or value, may have up to "
                    + "\(HTTP1Connections.maxFieldBytes / 1024) KiB, the URL and headers \(HTTP1Connections.maxHeadBytes / 1024) KiB "
                    + "in all, and there may be up to \(HTTP1Connections.maxFieldCount) headers"
            )
        } else {
            (status, code, message) = (.badRequest, APIError.Code.badRequest.rawValue, "the request is not well-formed HTTP/1.1 (\(error))")
        }
        let body = JSONValue.object(["error": .object(["code": .string(code), "message": .string(message)])])
        return (status, body.compactJSON)
    }
}
