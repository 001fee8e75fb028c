import Foundation
import Hummingbird
import NIOCore

/// An `application/x-www-form-urlencoded` body, the way browsers post forms.
struct FormBody: Sendable {
    var fields: [(name: String, value: String)]

    init(_ text: String) {
        fields = text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// The `input[field]=value` pairs, by field.
    var inputs: [String: String] {
        var result: [String: String] = [:]
        for (name, value) in fields where name.hasPrefix("input[") && name.hasSuffix("]") {
            result[String(name.dropFirst(6).dropLast())] = value
        }
        return result
    }

    /// Reads a form body of at most 1 MiB.
    static func read(_ request: Request) async throws -> FormBody {
        do {
            let bytes = try await request.body.collect(upTo: RunsController.maxBodyBytes)
            return FormBody(String(decoding: bytes.readableBytesView, as: UTF8.self))
        } catch is NIOTooManyBytesError {
            throw APIError(.payloadTooLarge, "the form is larger than 1 MiB")
        }
    }
}

/// The kinds of body a cross-site form can send (DESIGN §4), which need a CSRF token.
enum BodyKind {
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
}
