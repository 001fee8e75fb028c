import Foundation
import Hummingbird
import NIOCore
import TetherCore

/// A body that is read from JSON through ``JSONValue`` rather than `Decodable`, to keep the
/// order and exact values of `JSONValue.parse` and the API's own error messages.
protocol JSONBodyDecodable {
    init(json: JSONValue) throws
}

/// The `requestDecoder` of ``AppRequestContext``: an `x-www-form-urlencoded` body goes through
/// Hummingbird's `URLEncodedFormDecoder`; anything else must be JSON.
///
/// JSON is not read with `JSONDecoder`: bodies are parsed with `JSONValue.parse`, whose errors
/// name the line and column, and types that conform to ``JSONBodyDecodable`` are built from
/// that value with the API's messages (at most 64 levels deep and 10,000 members and items
/// in all). Both kinds are limited to 1 MiB
/// (``maxBodyBytes``, not the context's `maxUploadSize` of 2 MiB), with today's `413` message.
public struct BodyDecoder: RequestDecoder {
    /// The largest request body accepted (`413 payload_too_large` beyond).
    static let maxBodyBytes = 1 << 20
    /// How deep and how large a JSON body may be: a run's input is a handful of fields, and
    /// these bound the work and memory one request can cost (`400` beyond).
    static let jsonLimits = JSONLimits(depth: 64, members: 10_000)

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        if BodyKind(request) == .form {
            let text = try await Self.text(of: request, tooLarge: "the form is larger than 1 MiB")
            do {
                return try URLEncodedFormDecoder().decode(T.self, from: text)
            } catch let error as URLEncodedFormError {
                throw APIError(.badRequest, "the form could not be read: \(error)")
            } catch is DecodingError {
                // A field sent in a shape the form does not have (`csrf[x]=1` for `csrf`).
                throw APIError(.badRequest, "the form could not be read: a field has the wrong shape")
            }
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? "application/json"
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.badRequest, "send the body as JSON (Content-Type: application/json), not \(contentType)")
        }
        let text = try await Self.text(of: request, tooLarge: "the body is larger than 1 MiB")
        let value: JSONValue
        do {
            value = try JSONValue.parse(text, limits: Self.jsonLimits)
        } catch {
            throw APIError(.badRequest, "the body is not valid JSON: \(error)")
        }
        if let bodyType = T.self as? any JSONBodyDecodable.Type {
            // `bodyType` is `T.self`, so the cast cannot fail.
            return try bodyType.init(json: value) as! T
        }
        if let value = value as? T { return value }
        return try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    /// The body as text, at most ``maxBodyBytes``.
    static func text(of request: Request, tooLarge message: String) async throws -> String {
        let bytes = try await reading(tooLarge: message) { try await request.body.collect(upTo: maxBodyBytes) }
        return String(decoding: bytes.readableBytesView, as: UTF8.self)
    }

    /// Reads a request's body: past the limit is `413`; a body that breaks off (the client
    /// went away, or sent less than its `Content-Length`) is the client's fault, `400` —
    /// never a `500`.
    static func reading<T>(tooLarge message: String, _ read: () async throws -> T) async throws -> T {
        do {
            return try await read()
        } catch is NIOTooManyBytesError {
            throw APIError(.payloadTooLarge, message)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "the request's body could not be read whole (\(error))")
        }
    }
}
