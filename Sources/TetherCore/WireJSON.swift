import Foundation

/// JSON as Tether writes it on the wire: dates in RFC 3339 with milliseconds, keys sorted,
/// slashes unescaped. The HTTP API and the event log share it, so an event the log encoded
/// once is byte for byte what the API would have written.
public enum WireJSON {
    /// Safe to share: an encoder whose options never change after this point can encode
    /// from any number of tasks at once.
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        return encoder
    }()

    /// `2026-11-26T02:23:37.086Z`: what `Date.ISO8601FormatStyle` with fractional seconds
    /// writes (milliseconds truncated), formatted by hand because that style takes
    /// microseconds per date and every event carries one.
    public static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let whole = interval.rounded(.down)
        var millis = Int(((interval - whole) * 1000).rounded(.down))
        millis = min(max(millis, 0), 999)
        var time = time_t(whole)
        var parts = tm()
        gmtime_r(&time, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(millis, 3))Z"
    }

    private static func pad(_ number: Int, _ width: Int) -> String {
        let digits = String(number)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    public static func data(_ value: some Encodable) throws -> Data {
        try encoder.encode(value)
    }
}

/// A logged event with its wire JSON, encoded once however many subscribers write it.
public struct EncodedEvent: Sendable {
    public let event: ProgressEvent
    /// `event` as the API writes it: the same members as ``WireJSON`` writes, keys sorted.
    public let json: [UInt8]

    public init(_ event: ProgressEvent) {
        self.event = event
        self.json = event.wireJSON
    }

    public var seq: Int { event.seq }
}
