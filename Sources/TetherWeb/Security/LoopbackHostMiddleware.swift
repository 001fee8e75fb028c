import Hummingbird

/// Without `TETHER_API_TOKEN` the server is bound to loopback and trusts whoever reaches it.
/// A web page can still reach it through DNS rebinding (a name it controls made to resolve to
/// 127.0.0.1), and its requests would then carry a matching `Origin` and `Host`. So such a
/// server answers only requests addressed exactly to a loopback name (``Loopback``); a
/// request without a `Host` (HTTP/1.0) is let through.
struct LoopbackHostMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let authority = request.head.authority, !Loopback.isLoopback(authority: authority) {
            throw APIError(
                .badRequest,
                "this server answers only to localhost and 127.0.0.1, not to '\(authority)'; set TETHER_API_TOKEN to serve other names"
            )
        }
        return try await next(request, context)
    }
}
