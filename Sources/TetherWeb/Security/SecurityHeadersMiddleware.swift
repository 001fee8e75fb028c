import Foundation
import HTTPTypes
import Hummingbird

/// Headers every response carries (DESIGN §4, §5): the Content-Security-Policy allows only
/// the app's own files (the pages have no inline script or style), and same-origin posts keep
/// their `Origin` because of the `Referrer-Policy`.
enum SecurityHeaders {
    /// `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;
    /// connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none';
    /// object-src 'none'`.
    static let contentSecurityPolicy: String = {
        let policy: ContentSecurityPolicy = [
            .defaultSrc(.self), .scriptSrc(.self), .styleSrc(.self), .imgSrc(.self, .uri("data:")), .connectSrc(.self),
            .formAction(.self), .frameAncestors(.none), .baseURI(.none), .objectSrc(.none),
        ]
        return policy.description
    }()

    /// Each header's name and value.
    static let fields: [(name: HTTPField.Name, value: String)] = [
        (.contentSecurityPolicy, contentSecurityPolicy),
        (.referrerPolicyHeader, "same-origin"),
        (.xContentTypeOptions, "nosniff"),
    ]
}

/// Adds ``SecurityHeaders`` to every response of the router.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for field in SecurityHeaders.fields {
            response.headers[field.name] = field.value
        }
        return response
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicyHeader = Self("Referrer-Policy")!
    static let csrfToken = Self("X-CSRF-Token")!
}
