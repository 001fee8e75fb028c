import Hummingbird

/// A route's result in the domain's terms (a started run, a run's detail, a page of runs…)
/// with its two renderings. Handlers return one; ``Negotiation`` picks the rendering, so no
/// handler branches on `Accept` or on the body's kind to answer.
protocol Negotiated: Sendable {
    /// API clients that get this error instead of a rendering, before the handler runs:
    /// for results that only have a page. `nil` by default.
    static var refusalForAPIClients: APIError? { get }

    /// The answer for API clients.
    func jsonResponse() throws -> Response

    /// The answer for browsers: a page, or `303` after a form post.
    func browserResponse(_ browser: BrowserRendering) async throws -> Response
}

extension Negotiated {
    static var refusalForAPIClients: APIError? { nil }
}

/// Which rendering a request gets (DESIGN §4): a `POST` whose body is a form is a browser's
/// form post; any other `POST` is an API call, whatever its `Accept`; a `GET` is a browser's
/// when `Accept` prefers HTML (``Request/prefersHTML``).
enum Representation: Equatable {
    case json, page, formPost

    init(_ request: Request) {
        if request.method == .post {
            self = BodyKind(request) == .form ? .formPost : .json
        } else {
            self = request.prefersHTML ? .page : .json
        }
    }
}

/// What a browser rendering needs: the request (for page-only query parameters such as
/// `?notice=`), its context (the CSRF token for forms), and the screen's builders.
struct BrowserRendering: Sendable {
    let request: Request
    let context: AppRequestContext
    let screen: RunsScreen

    var renderer: PageRenderer { screen.renderer }
    var csrfToken: String { context.csrfToken }
}

/// The one negotiating step between a handler and its response.
struct Negotiation: Sendable {
    let screen: RunsScreen

    /// Wraps a handler that returns a domain result into a route's responder.
    func callAsFunction<Value: Negotiated>(
        _ handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Value
    ) -> @Sendable (Request, AppRequestContext) async throws -> Response {
        let screen = self.screen
        return { request, context in
            let representation = Representation(request)
            if representation == .json, let refusal = Value.refusalForAPIClients { throw refusal }
            let value = try await handler(request, context)
            switch representation {
            case .json: return try value.jsonResponse()
            case .page, .formPost:
                return try await value.browserResponse(BrowserRendering(request: request, context: context, screen: screen))
            }
        }
    }
}
