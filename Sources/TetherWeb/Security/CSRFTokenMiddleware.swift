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

    /// 32 random bytes in hex. Made for every response without the cookie, API answers
    /// included, so it is built by hand: `String(format:)` per byte took 4.6% of the server's
    /// CPU under a load of run starts.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for _ in 0..<4 {
            var word = generator.next()
            for _ in 0..<8 {
                let byte = UInt8(truncatingIfNeeded: word)
                hex.append(digits[Int(byte >> 4)])
                hex.append(digits[Int(byte & 0x0F)])
                word >>= 8
            }
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
