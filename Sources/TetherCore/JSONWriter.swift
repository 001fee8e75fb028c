import Foundation

/// Compact JSON with sorted keys, written straight into bytes: ``JSONValue/compactJSON`` and
/// the event log's encoding of each event (``EncodedEvent``), which must keep up with a tree
/// that logs tens of thousands of events a second. Foundation's `JSONEncoder` spends several
/// microseconds on an event; this writes the same JSON (bar number spelling) in a fraction.
struct JSONWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): raw(flag ? "true" : "false")
        case .number(let number): raw(JSONValue.format(number))
        case .string(let text): quote(text)
        case .array(let values):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            write(members)
        }
    }

    mutating func write(_ members: [String: JSONValue]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, key) in members.keys.sorted().enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            quote(key)
            bytes.append(UInt8(ascii: ":"))
            write(members[key]!)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`, `\r`, `\t` or
    /// `\u00XX`, everything else as its UTF-8.
    mutating func quote(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

extension ProgressEvent {
    /// The event as the API writes it (``WireJSON``), keys sorted, written by ``JSONWriter``.
    var wireJSON: [UInt8] {
        var writer = JSONWriter(capacity: 160 + message.utf8.count)
        writer.raw("{\"at\":\"")
        writer.raw(WireJSON.timestamp(at))
        writer.raw("\",\"data\":")
        writer.write(data)
        writer.raw(",\"kind\":")
        writer.quote(kind.rawValue)
        writer.raw(",\"message\":")
        writer.quote(message)
        writer.raw(",\"runId\":")
        writer.quote(runID.rawValue)
        writer.raw(",\"seq\":")
        writer.raw(String(seq))
        writer.raw("}")
        return writer.bytes
    }
}
