import Hummingbird

/// With `TETHER_API_TOKEN` set, every request needs the token, as `Authorization: Bearer
/// <token>`, or the `tether_token` cookie that the login page sets (``LoginSession``);
/// otherwise `401`, and a
/// browser asking for a page is sent to `/login`. Open without it: `GET /healthz`, the login
/// page, and the stylesheet and script it loads.
struct TokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let session: LoginSession

    static var openPaths: Set<String> { ["/healthz", "/login", "/app.css", "/app.js"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.openPaths.contains(request.uri.path) || presentsToken(request) {
            return try await next(request, context)
        }
        if request.method == .get, request.prefersHTML {
            return .redirect(to: "/login?next=" + QueryString.escape(request.uri.description), type: .normal)
        }
        throw APIError(.unauthorized, "this server needs its API token (Authorization: Bearer …)")
    }

    func presentsToken(_ request: Request) -> Bool {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.constantTimeEqual(String(header.dropFirst(7)), session.token)
        {
            return true
        }
        if let cookie = request.cookies[LoginController.cookieName], Self.constantTimeEqual(cookie.value, session.cookieValue) {
            return true
        }
        return false
    }

    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
