import Foundation
import Hummingbird
import TetherCore
import TetherRuntime

/// An error the API answers with: `{"error": {"code", "message"}}` for API clients (DESIGN §4).
///
/// As an `HTTPResponseError` it renders that JSON itself; ``ErrorMiddleware`` uses it for API
/// clients and renders the HTML error page for browsers.
public struct APIError: Error, HTTPResponseError, Sendable, Hashable {
    /// The machine-readable error code, one per HTTP status Tether uses.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public let status: HTTPResponse.Status
        public init?(rawValue: String) {
            guard let code = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = code
        }
        init(_ rawValue: String, _ status: HTTPResponse.Status) {
            self.rawValue = rawValue
            self.status = status
        }

        public static let badRequest = Code("bad_request", .badRequest)
        public static let unauthorized = Code("unauthorized", .unauthorized)
        public static let csrfRejected = Code("csrf_rejected", .forbidden)
        public static let notFound = Code("not_found", .notFound)
        public static let runFinished = Code("run_finished", .conflict)
        /// A resume of a run in flight, of a child run, or of a succeeded run without `?at=`.
        public static let notResumable = Code("not_resumable", .conflict)
        public static let payloadTooLarge = Code("payload_too_large", .contentTooLarge)
        /// A request line or headers past the limits of `HTTP1Connections`.
        public static let headersTooLarge = Code("headers_too_large", .requestHeaderFieldsTooLarge)
        public static let unknownAgent = Code("unknown_agent", .unprocessableContent)
        public static let tooManyRuns = Code("too_many_runs", .tooManyRequests)
        public static let tooManySubscribers = Code("too_many_subscribers", .tooManyRequests)
        /// Too many wrong tokens from one client on the login form.
        public static let tooManyAttempts = Code("too_many_attempts", .tooManyRequests)
        public static let shuttingDown = Code("shutting_down", .serviceUnavailable)
        public static let internalError = Code("internal_error", .internalServerError)
        /// A stored record the store cannot read back.
        public static let unreadableRecord = Code("unreadable_record", .unprocessableContent)

        static let all: [Code] = [
            .badRequest, .unauthorized, .csrfRejected, .notFound, .runFinished, .payloadTooLarge, .unknownAgent,
            .tooManyRuns, .shuttingDown, .internalError, .unreadableRecord, .tooManyAttempts, .tooManySubscribers,
            .headersTooLarge, .notResumable,
        ]
    }

    public var code: Code
    public var message: String
    /// The run's status, on a `409 run_finished`.
    public var runStatus: RunStatus?

    public init(_ code: Code, _ message: String, runStatus: RunStatus? = nil) {
        self.code = code
        self.message = message
        self.runStatus = runStatus
    }

    public var status: HTTPResponse.Status { code.status }

    /// The JSON body. On a 409 the run's `status` stands both inside `error` and at the top.
    var jsonBody: JSONValue {
        var error: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(message)]
        var body: [String: JSONValue] = [:]
        if let runStatus {
            error["status"] = .string(runStatus.rawValue)
            body["status"] = .string(runStatus.rawValue)
        }
        body["error"] = .object(error)
        return .object(body)
    }

    /// The JSON answer; `401` also names the scheme (`WWW-Authenticate: Bearer`).
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try Response.json(jsonBody, status: status)
        if code == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}

extension APIError {
    /// The API's answer to a supervisor's refusal.
    init(_ error: SupervisorError) {
        switch error {
        case .unknownAgent: self.init(.unknownAgent, error.description)
        case .invalidInput(let reason): self.init(.badRequest, reason)
        case .tooManyRuns: self.init(.tooManyRuns, error.description)
        case .shuttingDown: self.init(.shuttingDown, error.description)
        case .notFound: self.init(.notFound, error.description)
        case .runFinished(_, let status): self.init(.runFinished, error.description, runStatus: status)
        case .notResumable(_, let status, _): self.init(.notResumable, error.description, runStatus: status)
        case .storage: self.init(.internalError, error.description)
        case .unreadable: self.init(.unreadableRecord, error.description)
        }
    }
}
