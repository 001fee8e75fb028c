import Foundation
import HTTPTypes
import Hummingbird

/// The login page of a server with `TETHER_API_TOKEN`: a browser without the token is sent
/// here, and a correct token sets the `tether_token` cookie (HttpOnly), which the
/// ``TokenMiddleware`` accepts like a bearer token. API clients send the bearer token.
struct LoginController {
    let session: LoginSession?
    let renderer: PageRenderer
    let throttle = LoginThrottle()

    static let cookieName = "tether_token"

    /// `GET /login`, and `POST /login` on `forms`, a group that checks the CSRF token of forms.
    /// A server without a token only redirects a login to `/`, checking nothing, so there the
    /// route stays outside the group.
    func addRoutes(to router: Router<AppRequestContext>, forms: RouterGroup<AppRequestContext>) {
        router.get("login", use: page)
        if session == nil {
            router.post("login", use: login)
        } else {
            forms.post("login", use: login)
        }
    }

    @Sendable func page(request: Request, context: AppRequestContext) async throws -> Response {
        guard session != nil else { return .redirect(to: "/", type: .normal) }
        return renderer.page("login", view(context, next: Self.safeNext(request.uri.queryParameters["next"].map(String.init))))
    }

    /// The login form: `csrf`, `token` and where to go `next`.
    struct Form: Decodable {
        var token: String?
        var next: String?
    }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        guard let session else { return .redirect(to: "/", type: .normal) }
        guard BodyKind(request) == .form else { throw APIError(.badRequest, "send the login form") }
        let form = try await request.decode(as: Form.self, context: context)
        let next = Self.safeNext(form.next)
        if let wait = throttle.retryAfter(client: context.clientAddress) {
            let seconds = max(1, Int(wait.components.seconds) + 1)
            var page = view(context, next: next)
            page.error = "Too many wrong tokens from this address: try again in \(seconds) s."
            var response = renderer.page("login", page, status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        }
        guard let given = form.token, TokenMiddleware<AppRequestContext>.constantTimeEqual(given, session.token) else {
            throttle.recordFailure(client: context.clientAddress)
            var page = view(context, next: next)
            page.error = "That is not this server's token."
            return renderer.page("login", page, status: .unauthorized)
        }
        throttle.reset(client: context.clientAddress)
        var response = Response.redirect(to: next, type: .normal)
        Self.setSessionCookie(session.cookieValue, on: &response)
        return response
    }

    /// `tether_token=VALUE; Path=/; HttpOnly; SameSite=Strict`, the value standing for the
    /// token (``LoginSession``).
    static func setSessionCookie(_ value: String, on response: inout Response) {
        response.setCookie(Cookie(name: cookieName, value: value, path: "/", httpOnly: true, sameSite: .strict))
    }

    func view(_ context: AppRequestContext, next: String) -> LoginPage {
        LoginPage(
            title: "Sign in — Tether",
            assetVersion: renderer.assetVersion,
            csrfToken: context.csrfToken,
            next: next,
            error: nil
        )
    }

    /// Where to go after signing in: a path on this server only. Browsers drop tabs and
    /// newlines from URLs and read `\` as `/`, so any of those, like a leading `//`, could
    /// lead off this server: such a value gives `/`.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
            next.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else { return "/" }
        return next
    }
}

struct LoginPage: Sendable {
    var title: String
    var assetVersion: String
    var csrfToken: String
    var next: String
    var error: String?
}
