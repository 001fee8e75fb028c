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

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("login", use: page)
        router.post("login", use: login)
    }

    @Sendable func page(request: Request, context: AppRequestContext) async throws -> Response {
        guard token != nil else { return .redirect(to: "/", type: .normal) }
        return renderer.page("login", view(context, next: Self.safeNext(request.uri.queryParameters["next"].map(String.init))))
    }

    @Sendable func login(request: Request, context: AppRequestContext) async throws -> Response {
        guard let token else { return .redirect(to: "/", type: .normal) }
        guard BodyKind(request) == .form else { throw APIError(.badRequest, "send the login form") }
        let form = try await FormBody.read(request)
        guard CSRFMiddleware.verify(formToken: form["csrf"], context: context) else { throw APIError.csrfMissing }
        let next = Self.safeNext(form["next"])
        guard let given = form["token"], TokenMiddleware<AppRequestContext>.constantTimeEqual(given, token) else {
            var page = view(context, next: next)
            page.error = "That is not this server's token."
            return renderer.page("login", page, status: .unauthorized)
        }
        var response = Response.redirect(to: next, type: .normal)
        response.headers.append(HTTPField(
            name: .setCookie, value: "\(Self.cookieName)=\(token); Path=/; HttpOnly; SameSite=Lax"))
        return response
    }

    func view(_ context: AppRequestContext, next: String) -> LoginPage {
        LoginPage(
            title: "Sign in — Tether", assetVersion: renderer.assetVersion, csrfToken: context.csrfToken, next: next,
            error: nil)
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

extension BodyKind: Equatable {}
