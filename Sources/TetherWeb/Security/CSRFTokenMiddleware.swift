import Foundation
import HTTPTypes
import Hummingbird

/// Binds a CSRF token to the browser with a cookie (double submit): the `tether_csrf` cookie
/// (HttpOnly, SameSite=Lax) is set on the first response, and the token goes into the request
/// context, from which pages embed it in their forms and for the script. ``CSRFMiddleware``
/// checks it on the routes that change something.
struct CSRFTokenMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    static let cookieName = "tether_csrf"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let existing = Self.cookieToken(request)
        let token = existing ?? Self.newToken()
        context.csrfToken = token
        context.csrfTokenFromCookie = existing != nil
        if let header = request.headers[.csrfToken], let existing {
            context.csrfHeaderIsValid = TokenMiddleware<Context>.constantTimeEqual(header, existing)
        }
        var response = try await next(request, context)
        if existing == nil {
            response.setCookie(Cookie(name: Self.cookieName, value: token, path: "/", httpOnly: true, sameSite: .lax))
        }
        return response
    }

    /// The token of the request's `tether_csrf` cookie, if it is well formed (64 hex digits).
    /// Hummingbird's `request.cookies` gives the first cookie of that name.
    static func cookieToken(_ request: Request) -> String? {
        guard let value = request.cookies[cookieName]?.value, value.count == 64, value.allSatisfy(\.isHexDigit) else {
            return nil
        }
        return value
    }

    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
