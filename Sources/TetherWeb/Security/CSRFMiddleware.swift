import Foundation
import HTTPTypes
import Hummingbird

/// Binds a CSRF token to the browser with a cookie (double submit): pages embed the token in
/// their forms and for the script, and a form-type `POST` must send it back (the `csrf`
/// field, or the `X-CSRF-Token` header) matching the cookie. A cross-site page can make the
/// browser send the cookie but cannot read it, so it cannot forge the field.
struct CSRFMiddleware: RouterMiddleware {
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
            response.headers.append(HTTPField(name: .setCookie, value: "\(Self.cookieName)=\(token); Path=/; HttpOnly; SameSite=Lax"))
        }
        return response
    }

    /// The token of the request's cookie, if it has a well-formed one.
    static func cookieToken(_ request: Request) -> String? {
        for part in request.headers[values: .cookie].flatMap({ $0.split(separator: ";") }) {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard pair.hasPrefix(cookieName + "=") else { continue }
            let value = String(pair.dropFirst(cookieName.count + 1))
            if value.count == 64, value.allSatisfy(\.isHexDigit) { return value }
        }
        return nil
    }

    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Whether a form-type request proved it came from one of our pages.
    static func verify(formToken: String?, context: Context) -> Bool {
        guard context.csrfTokenFromCookie else { return false }
        if context.csrfHeaderIsValid { return true }
        guard let formToken else { return false }
        return TokenMiddleware<Context>.constantTimeEqual(formToken, context.csrfToken)
    }
}

extension APIError {
    static let csrfMissing = APIError(
        .csrfRejected, "this form was not sent from a Tether page (its CSRF token is missing or stale); reload the page and try again")
}
