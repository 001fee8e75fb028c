import Hummingbird

/// `?force=&wait=` of `POST /runs/{id}/stop`, checked.
struct StopOptions: Sendable {
    var force = false
    var wait: Duration?

    /// The longest `?wait=`, in seconds.
    static let maxWait = 300.0

    init(_ request: Request) throws {
        let parameters = request.uri.queryParameters
        if let value = parameters["wait"] {
            guard let seconds = Double(value), seconds >= 0, seconds <= Self.maxWait else {
                throw APIError(.badRequest, "wait must be a number of seconds from 0 to \(Int(Self.maxWait)), not '\(value)'")
            }
            wait = .milliseconds(Int64(seconds * 1000))
        }
        if let value = parameters["force"] {
            switch value {
            case "true", "1": force = true
            case "false", "0": force = false
            default: throw APIError(.badRequest, "force must be true or false, not '\(value)'")
            }
        }
    }
}
