import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// How Tether's HTTP/1 connections are set up: the limits of a request's head, the idle
/// timeout, and the handlers that work on raw HTTP/1 parts (before Hummingbird turns them
/// into HTTPTypes and the version is gone).
enum HTTP1Connections {
    /// The longest request line or single header (the URL included), in bytes.
    static let maxFieldBytes = 16 * 1024
    /// The most bytes of a request line and its headers together.
    static let maxHeadBytes = 64 * 1024
    /// The most header fields in one request.
    static let maxFieldCount = 100

    /// The server's channel configuration. Hummingbird's idle timeout closes a connection
    /// that has no request in progress, and one whose request head has not arrived whole
    /// (a header trickling in a byte at a time) once that long has passed since it opened or
    /// last finished a response; it never cuts a response being written, such as an event
    /// stream. ``RequestReadDeadline`` gives a request's body the same time to arrive whole.
    static func configuration(idleTimeout: Duration) -> HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(
            additionalChannelHandlers: [Installer(requestReadTimeout: TimeAmount(idleTimeout))],
            idleTimeout: TimeAmount(idleTimeout),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: maxFieldBytes,
                maxHeaderListSize: maxHeadBytes,
                maxHeaderFieldCount: maxFieldCount
            )
        )
    }

    /// Hummingbird adds its extra handlers after `HTTP1ToHTTPServerCodec`; this one puts
    /// the raw-HTTP handlers in front of that codec when it is added, and steps out.
    final class Installer: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart

        let requestReadTimeout: TimeAmount

        init(requestReadTimeout: TimeAmount) {
            self.requestReadTimeout = requestReadTimeout
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let pipeline = context.pipeline.syncOperations
            if let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) {
                try? pipeline.addHandler(ParserErrorResponder(), position: .before(codec))
                try? pipeline.addHandler(HTTP10CloseHandler(), position: .before(codec))
                try? pipeline.addHandler(RequestReadDeadline(timeout: requestReadTimeout), position: .before(codec))
            }
            pipeline.removeHandler(context: context, promise: nil)
        }
    }
}
