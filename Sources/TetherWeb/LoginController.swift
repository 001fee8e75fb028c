import Foundation
import HTTPTypes
import Hummingbird

/// The login page of a server with `TETHER_API_TOKEN`: a browser without the token is sent
/// here, and a correct token sets the `tether_token` cookie (HttpOnly), which the
/// ``TokenMiddleware`` accepts like a bearer token. API clients send the bearer token.
struct LoginController {
    let token: String?
    let renderer: PageRenderer

    static let cookieName = "tether_token"

    /// `GET /login`, and `POST /login` on `forms`, a group that checks the CSRF token of forms.
    /// A server without a token only redirects a login to `/`, checking nothing, so there the
    /// route stays outside the group.
    func addRoutes(to router: Router<AppRequestContext>, forms: RouterGroup<AppRequestContext>) {
        router.get("login", use: page)
        if token == nil {
            router.post("login", use: login)
        } else {
            forms.post("login", use: login)
        }
    }

    @Sendable func page(request: Request, context: AppRequestContext) async throws -> Response {
        guard token != nil else { return .redirect(to: "/", type: .normal) }
        return renderer.page("login", view(context, next: Self.safeNext(request.uri.queryParameters["next"].map(String.init))))
    }

    /// The login form: `csrf`, `token` and where to go `next`.
    struct Form: Decodable {
        var token: String?
        var next: String?
    }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        guard let token else { return .redirect(to: "/", type: .normal) }
        guard BodyKind(request) == .form else { throw APIError(.badRequest, "send the login form") }
        let form = try await request.decode(as: Form.self, context: context)
        let next = Self.safeNext(form.next)
        guard let given = form.token, TokenMiddleware<AppRequestContext>.constantTimeEqual(given, token) else {
            var page = view(context, next: next)
            page.error = "That is not this server's token."
            return renderer.page("login", page, status: .unauthorized)
        }
        var response = Response.redirect(to: next, type: .normal)
        Self.setTokenCookie(token, on: &response)
        return response
    }

    /// `tether_token=TOKEN; Path=/; HttpOnly; SameSite=Lax`. A token with characters a cookie
    /// cannot hold (RFC 6265) is written as it is, as before, rather than tripping
    /// `Cookie`'s debug assertion.
    static func setTokenCookie(_ token: String, on response: inout Response) {
        if let cookie = try? Cookie.validated(name: cookieName, value: token, path: "/", httpOnly: true, sameSite: .lax) {
            response.setCookie(cookie)
        } else {
            response.headers.append(HTTPField(name: .setCookie, value: "\(cookieName)=\(token); Path=/; HttpOnly; SameSite=Lax"))
        }
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
