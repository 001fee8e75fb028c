import Foundation
import Hummingbird

/// Refuses a `POST` whose `Origin` is present and not this server's own (`403 csrf_rejected`).
struct OriginCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .post, let origin = request.headers[.origin], !Self.isSameOrigin(origin, request) {
            throw APIError(.csrfRejected, "a page on another site (\(origin)) cannot post to Tether")
        }
        return try await next(request, context)
    }

    /// Whether `origin` (`http://host:port`) names the host the request was sent to.
    static func isSameOrigin(_ origin: String, _ request: Request) -> Bool {
        guard let url = URL(string: origin), let host = url.host else { return false }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        guard let requested = request.head.authority else { return false }
        if requested == authority { return true }
        // `Host: 127.0.0.1:80` and `Origin: http://127.0.0.1` name the same place.
        let defaultPort = url.scheme == "https" ? 443 : 80
        return requested == "\(host):\(defaultPort)" || (url.port == defaultPort && requested == host)
    }
}
