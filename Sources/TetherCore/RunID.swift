import Foundation

/// The identifier of a run: a lower-case UUID, opaque to clients.
public struct RunID: Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// A fresh, random identifier.
    public init() {
        rawValue = UUID().uuidString.lowercased()
    }

    /// Validates text from outside (a URL path, a query): `nil` unless it is a UUID.
    public init?(validating text: String) {
        guard let uuid = UUID(uuidString: text) else { return nil }
        rawValue = uuid.uuidString.lowercased()
    }

    /// Wraps a stored identifier without validating it (records read back from a store).
    public init(stored rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
