import HTTPTypes
import Hummingbird
import Logging
import TetherCore
import TetherRuntime

/// Turns every error a route throws into the API's error shape — JSON for API clients, an
/// HTML page with a way back for browsers — and marks every response `Vary: Accept` (the
/// same URL answers HTML or JSON).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let renderer: PageRenderer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error)
            if apiError.code == .internalError {
                context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            response = try render(apiError, for: request, context: context)
        }
        if !response.headers[values: .vary].contains("Accept") {
            response.headers.append(HTTPField(name: .vary, value: "Accept"))
        }
        return response
    }

    /// The error as the client wants it.
    func render(_ error: APIError, for request: Request, context: Context) throws -> Response {
        guard request.prefersHTML else { return try error.response(from: request, context: context) }
        let page = ErrorPage(
            title: Self.title(for: error),
            status: Int(error.status.code),
            code: error.code.rawValue,
            message: error.message,
            backURL: "/",
            backLabel: "Back to the Runs screen",
            assetVersion: renderer.assetVersion
        )
        var response = renderer.page("error", page, status: error.status)
        if error.code == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    static func title(for error: APIError) -> String {
        switch error.code {
        case .notFound: "Not found"
        case .runFinished: "The run has already finished"
        case .notResumable: "This run cannot be resumed"
        case .csrfRejected: "Refused: not sent from Tether's own page"
        case .unauthorized: "This server needs its token"
        case .payloadTooLarge: "Too large"
        case .unknownAgent: "Unknown agent"
        case .tooManyRuns: "Too many runs at once"
        case .shuttingDown: "Tether is shutting down"
        case .internalError: "Something went wrong"
        case .unreadableRecord: "This run's record cannot be read"
        default: "That request could not be used"
        }
    }

    static func apiError(for error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as UnreadableRecord:
            return APIError(.unreadableRecord, error.description)
        case let error as SupervisorError:
            return APIError(error)
        case let error as HTTPError:
            switch error.status {
            case .notFound: return APIError(.notFound, "no such page or route")
            case .methodNotAllowed: return APIError(.badRequest, "this method is not allowed here")
            case .contentTooLarge: return APIError(.payloadTooLarge, "the body is larger than 1 MiB")
            default: return APIError(.badRequest, error.body ?? "bad request")
            }
        default:
            return APIError(.internalError, "something went wrong on the server; the run, if any, is unaffected")
        }
    }
}
