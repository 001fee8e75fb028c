import Foundation
import Testing
import TetherCore

/// The event log writes each event's JSON by hand (``EncodedEvent``) and formats timestamps
/// by hand (``WireJSON/timestamp(_:)``), for speed: both must say exactly what Foundation's
/// encoder and date style say.
@Suite struct WireJSONTests {
    @Test func timestampsMatchFoundationsISO8601StyleToTheMillisecond() {
        var generator = SystemRandomNumberGenerator()
        var dates: [Date] = [
            Date(timeIntervalSince1970: 0),
            Date(timeIntervalSince1970: 0.9999),
            Date(timeIntervalSince1970: -0.0005),
            Date(timeIntervalSince1970: 1_798_761_599.999),
            Date(timeIntervalSince1970: 951_782_400.5),  // 2000-02-29
            Date(),
        ]
        for _ in 0..<10_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: -2_000_000_000...7_000_000_000, using: &generator)))
        }
        for date in dates {
            let foundation = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            #expect(WireJSON.timestamp(date) == foundation, "\(date.timeIntervalSince1970)")
        }
    }

    static let awkwardMessages = [
        "plain",
        "quote \" backslash \\ slash / newline \n return \r tab \t",
        "control \u{01}\u{1F} delete \u{7F} line separator \u{2028}",
        "emoji 🧵 accents é ü ñ, CJK 中文",
        "",
    ]

    @Test(arguments: awkwardMessages.indices)
    func anEncodedEventIsTheJSONFoundationWrites(message index: Int) throws {
        let event = ProgressEvent(
            seq: 42 + index,
            runID: RunID(),
            at: Date(timeIntervalSince1970: 1_790_000_000.123 + Double(index)),
            kind: .llmFinished,
            message: Self.awkwardMessages[index],
            data: [
                "text": .string(Self.awkwardMessages[index]),
                "usage": ["promptTokens": 12, "completionTokens": 7.5],
                "list": [.null, .bool(true), .bool(false), -3, 1e300, 0.1, .string("<&>")],
                "nested": ["z": ["a": [:]], "a": []],
                "notANumber": .number(.nan),
            ]
        )
        let encoded = EncodedEvent(event)
        let handWritten = try JSONSerialization.jsonObject(with: Data(encoded.json)) as? NSDictionary
        let foundation = try JSONSerialization.jsonObject(with: WireJSON.data(event)) as? NSDictionary
        #expect(handWritten != nil)
        #expect(handWritten == foundation)
        let keys = try #require(String(bytes: encoded.json, encoding: .utf8)).matches(of: /"(at|data|kind|message|runId|seq)":/)
        #expect(keys.map { String($0.output.1) } == ["at", "data", "kind", "message", "runId", "seq"], "keys sorted, as the API writes them")
    }
}
