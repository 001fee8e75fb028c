import Hummingbird
import NIOCore

/// The CSRF check of DESIGN §4, on the route groups whose `POST`s change something: a body a
/// cross-site form can send must prove it came from one of Tether's pages, by a valid
/// `X-CSRF-Token` header or a `csrf` form field matching the `tether_csrf` cookie (bound by
/// ``CSRFTokenMiddleware``). A JSON body needs no token: a cross-site page cannot send one
/// without `Origin`, which ``OriginCheckMiddleware`` checks.
///
/// A form body is collected (at most 1 MiB) and kept in the request, so the handler decodes it
/// again through ``BodyDecoder``.
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// Which bodies need the token.
    enum Scope: Sendable {
        /// Every body a cross-site form can send (`x-www-form-urlencoded`, `multipart/form-data`,
        /// `text/plain`).
        case formTypes
        /// `x-www-form-urlencoded` only: for a route that refuses every other body itself
        /// (the login form), so that those keep their own `400`.
        case urlEncodedForms
    }

    var scope = Scope.formTypes

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post else { return try await next(request, context) }
        switch (BodyKind(request), scope) {
        case (.form, _):
            var request = request
            _ = try await BodyDecoder.reading(tooLarge: "the form is larger than 1 MiB") {
                try await request.collectBody(upTo: BodyDecoder.maxBodyBytes)
            }
            let field = try await request.decode(as: TokenField.self, context: context)
            guard Self.verify(formToken: field.csrf, context: context) else { throw APIError.csrfMissing }
            return try await next(request, context)
        case (.otherFormType, .formTypes):
            guard Self.verify(formToken: nil, context: context) else { throw APIError.csrfMissing }
        case (.otherFormType, .urlEncodedForms), (.json, _), (.none, _):
            break
        }
        return try await next(request, context)
    }

    /// The form's `csrf` field; the form's other fields are the handler's.
    struct TokenField: Decodable {
        var csrf: String?
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
        .csrfRejected,
        "this form was not sent from a Tether page (its CSRF token is missing or stale); reload the page and try again"
    )
}
