import Foundation
import HTTPTypes
import Hummingbird

/// Headers every response carries (DESIGN §4, §5): the Content-Security-Policy allows only
/// the app's own files (the pages have no inline script or style), and same-origin posts keep
/// their `Origin` because of the `Referrer-Policy`.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.referrerPolicyHeader] = "same-origin"
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }

}

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

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicyHeader = Self("Referrer-Policy")!
    static let csrfToken = Self("X-CSRF-Token")!
}
