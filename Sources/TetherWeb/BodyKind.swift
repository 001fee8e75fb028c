import Hummingbird

/// What a request body is, by its `Content-Type`: the kinds a cross-site form can send
/// (DESIGN §4) need a CSRF token, and only `x-www-form-urlencoded` is read as a form.
enum BodyKind: Equatable {
    case json, form, otherFormType, none

    init(_ request: Request) {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") {
            self = .form
        } else if type.hasPrefix("multipart/form-data") || type.hasPrefix("text/plain") {
            self = .otherFormType
        } else if type.isEmpty {
            self = .none
        } else {
            self = .json
        }
    }

    /// Whether a cross-site form could have sent this body.
}
