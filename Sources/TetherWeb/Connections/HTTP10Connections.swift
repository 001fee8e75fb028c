import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// HTTP/1.0 done right: a request without `Connection: keep-alive` gets its connection
/// closed after the response, as HTTP/1.0 clients (text-mode browsers, HTTP/1.0 load tools)
/// expect — they read until the server closes. Hummingbird closes only on
/// `Connection: close`, and the request's version is gone once it is converted to
/// HTTPTypes; so this handler, added after that conversion, puts ``HTTP10CloseHandler``
/// in front of it, where the version is still known, and steps out of the pipeline.
final class HTTP10CloseInstaller: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) {
            try? pipeline.addHandler(HTTP10CloseHandler(), position: .before(codec))
        }
        pipeline.removeHandler(context: context, promise: nil)
    }
}

/// Marks an HTTP/1.0 request that did not ask for keep-alive `Connection: close`.
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
