import Hummingbird

/// The request context of every Tether route.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The CSRF token bound to this browser's cookie (set by ``CSRFTokenMiddleware``).
    public var csrfToken = ""
    /// Whether the token came from the request's own cookie (not freshly made).
    public var csrfTokenFromCookie = false
    /// Whether the request carried a valid `X-CSRF-Token` header.
    public var csrfHeaderIsValid = false

    /// The client's address (without port), for per-client limits; `unknown` when the
    /// channel has none (HummingbirdTesting's router mode).
    public var clientAddress: String

    public init(source: Source) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// JSON or form decoding, picked by the body's `Content-Type` (``BodyDecoder``).
    public var requestDecoder: BodyDecoder { BodyDecoder() }
}
