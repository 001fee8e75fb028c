import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// HTTP/1.0 done right: a request without `Connection: keep-alive` gets its connection
/// closed after the response, as HTTP/1.0 clients (text-mode browsers, HTTP/1.0 load tools)
/// expect — they read until the server closes. Hummingbird closes only on
/// `Connection: close`, and the request's version is gone once it is converted to
/// HTTPTypes, so this handler sits in front of that conversion (see ``HTTP1Connections``).
final class HTTP10CloseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var part = unwrapInboundIn(data)
        if case .head(var head) = part, head.version == .http1_0,
            !head.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "keep-alive" })
        {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            part = .head(head)
        }
        context.fireChannelRead(wrapInboundOut(part))
    }
}
