import NIOCore
import NIOHTTP1
import TetherCore

/// Answers a request that NIO's HTTP parser refuses (a request line or headers past
/// ``HTTP1Connections``' limits, or bytes that are not HTTP) with the JSON error of DESIGN §4
/// and the security headers: `431 headers_too_large` or `400 bad_request`, in place of the bare
/// `400` without a body that Hummingbird writes. The connection closes after the answer, as it must after a parse error.
final class ParserErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A response has begun and not ended: a second one cannot be written into it.
    private var responseUnderway = false
    /// This handler has answered a parse error: Hummingbird's own bare `400` that follows is
    /// dropped.
    private var answered = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError, !responseUnderway {
            let answer = Self.answer(to: parserError)
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
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            answered = true
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if answered {
            promise?.succeed()
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseUnderway = true
        case .end: responseUnderway = false
        default: break
        }
        context.write(data, promise: promise)
    }

    static func answer(to error: HTTPParserError) -> (status: HTTPResponseStatus, json: String) {
        let (status, code, message): (HTTPResponseStatus, String, String)
        if error == .headerOverflow {
            (status, code, message) = (
                .requestHeaderFieldsTooLarge, APIError.Code.headersTooLarge.rawValue,
                "the request's head is too large: the URL and each header may have up to \(HTTP1Connections.maxFieldBytes / 1024) KiB, "
                    + "the request line and headers \(HTTP1Connections.maxHeadBytes / 1024) KiB together, and there may be up to "
                    + "\(HTTP1Connections.maxFieldCount) headers"
            )
        } else {
            (status, code, message) = (.badRequest, APIError.Code.badRequest.rawValue, "the request is not well-formed HTTP/1.1 (\(error))")
        }
        let body = JSONValue.object(["error": .object(["code": .string(code), "message": .string(message)])])
        return (status, body.compactJSON)
    }
}
