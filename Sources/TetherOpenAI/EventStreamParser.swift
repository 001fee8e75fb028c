/// Reads a `text/event-stream` body as its bytes come, handing out each event's data: the
/// lines of `data:` fields joined by `\n` (the WHATWG rules: lines end in LF, CRLF or CR, a
/// blank line ends an event, `:` begins a comment, other fields are ignored). Works on
/// bytes, so a UTF-8 character split between two network chunks comes out whole.
struct EventStreamParser {
    private var line: [UInt8] = []
    private var data: String?
    private var lastWasCarriageReturn = false

    /// The events `bytes` completed.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var events: [String] = []
        for byte in bytes {
            if lastWasCarriageReturn {
                lastWasCarriageReturn = false
                if byte == Self.lineFeed { continue }
            }
            if byte == Self.lineFeed || byte == Self.carriageReturn {
                lastWasCarriageReturn = byte == Self.carriageReturn
                endLine(into: &events)
            } else {
                line.append(byte)
            }
        }
        return events
    }

    /// The body has ended: an event it did not end with a blank line still counts (servers
    /// that close right after their last `data:` line are common).
    mutating func finish() -> [String] {
        var events: [String] = []
        if !line.isEmpty { endLine(into: &events) }
        endLine(into: &events)
        return events
    }

    private mutating func endLine(into events: inout [String]) {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            if let data { events.append(data) }
            data = nil
            return
        }
        guard line[0] != Self.colon else { return }
        let colon = line.firstIndex(of: Self.colon) ?? line.endIndex
        guard line[..<colon].elementsEqual("data".utf8) else { return }
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == Self.space { valueStart += 1 }
        let value = String(decoding: line[valueStart...], as: UTF8.self)
        data = data.map { $0 + "\n" + value } ?? value
    }

    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " ")
}
