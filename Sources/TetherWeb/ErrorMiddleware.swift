import HTTPTypes
import Hummingbird
import Logging
import TetherCore
import TetherRuntime

/// Turns every error a route throws into the API's error shape, and marks every response
/// `Vary: Accept` (the same URL answers HTML or JSON).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error)
            if apiError.code == .internalError {
                context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            response = try Response.json(apiError.jsonBody, status: apiError.status)
        }
        if !response.headers[values: .vary].contains("Accept") {
            response.headers.append(HTTPField(name: .vary, value: "Accept"))
        }
        return response
    }

    static func apiError(for error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
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
