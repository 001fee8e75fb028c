import Foundation
import Hummingbird
import TetherCore

/// JSON as the API writes it (``TetherCore/WireJSON``).
enum APIJSON {
    static func timestamp(_ date: Date) -> String { WireJSON.timestamp(date) }

    static func data(_ value: some Encodable) throws -> Data { try WireJSON.data(value) }
}

extension Response {
    /// A JSON response of `value`.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.data(value))))
    }
}
