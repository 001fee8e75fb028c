import Foundation
import Testing
import TetherApp
import TetherCore
import TetherTestSupport

/// Connections that cannot exhaust the server (issue 13): an idle connection, or one whose
/// request head trickles in a byte at a time, is closed after `TETHER_IDLE_TIMEOUT_SECONDS`;
/// an event stream being answered is not; a request line or headers past the limits get a
/// JSON `431`, and bytes that are not HTTP a JSON `400`, each with the security headers.
@Suite struct ConnectionLimitTests {
    static func configuration(idleTimeout: Duration = .seconds(1)) -> AppConfiguration {
        var configuration = testConfiguration()
        configuration.idleTimeout = idleTimeout
        return configuration
    }

    // Three seconds, not one: on a busy machine a request's bytes can wait that long to be read,
    // and would be counted as idling.
    @Test func anIdleConnectionIsClosed() async throws {
        try await withLiveServer(configuration: Self.configuration(idleTimeout: .seconds(3))) { server, _ in
            let opened = ContinuousClock.now
            let silent = try await offThePool { try RawConnection(port: server.port) }
            #expect(await offThePool { silent.isClosedByServer() }, "a connection that never sends a request")
            #expect(ContinuousClock.now - opened >= .milliseconds(2500), "closed for idling, not at once")

            let done = try await offThePool { try RawConnection(port: server.port) }
            done.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(await offThePool { done.readResponse() }?.contains(" 200 ") == true)
            #expect(await offThePool { done.isClosedByServer() }, "a keep-alive connection left idle after its response")
        }
    }

    @Test func aHeadTricklingInAByteAtATimeIsClosed() async throws {
        try await withLiveServer(configuration: Self.configuration(idleTimeout: .seconds(3))) { server, _ in
            let opened = ContinuousClock.now
            let connection = try await offThePool { try RawConnection(port: server.port) }
            // A slow-loris client: one byte of a never-ending header every 50 ms, so the
            // connection is never silent for long.
            let closed = await offThePool {
                connection.trickle(after: "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", byte: "a")
            }
            #expect(closed, "the head never completed, so the connection counts as idle")
            #expect(ContinuousClock.now - opened >= .milliseconds(2500), "closed for its slow head, not at once")
        }
    }

    @Test func aBodyTricklingInIsCutOffAtTheDeadline() async throws {
        try await withLiveServer(configuration: Self.configuration(idleTimeout: .seconds(3))) { server, _ in
            let opened = ContinuousClock.now
            let connection = try await offThePool { try RawConnection(port: server.port) }
            // Each byte comes well within the idle timeout; the body as a whole does not.
            let closed = await offThePool {
                connection.trickle(
                    after: "POST /runs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
                    byte: " "
                )
            }
            #expect(closed, "a body must arrive whole within the timeout of its head")
            #expect(ContinuousClock.now - opened >= .milliseconds(2500))
            #expect(try await server.get("/healthz").status == .ok)
        }
    }

    @Test func aBadRequestPipelinedAfterAGoodOneIsAnsweredAfterIt() async throws {
        try await withLiveServer(configuration: Self.configuration(idleTimeout: .seconds(60))) { server, _ in
            let connection = try await offThePool { try RawConnection(port: server.port) }
            connection.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET / HTTP/1.1\r\nBad Header\r\n\r\n")
            let first = try #require(await offThePool { connection.readResponse() })
            #expect(first.hasPrefix("HTTP/1.1 200 "), "the good request's answer comes first: \(first.prefix(60))")
            let second = try #require(await offThePool { connection.readResponse() })
            #expect(second.hasPrefix("HTTP/1.1 400 ") && second.contains(#""code":"bad_request""#))
            #expect(await offThePool { connection.isClosedByServer() }, "nothing after the error's answer")
        }
    }

    @Test func anEventStreamOutlivesTheIdleTimeout() async throws {
        let llm = GatedLLM()
        try await withLiveServer(configuration: Self.configuration(), agents: TestAgents.all, llm: llm, keepAlive: .seconds(600)) {
            server,
            _ in
            let id = try await server.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(1) }
            let response = try await server.get("/runs/\(id)/events")
            let port = server.port
            try await withTimeout(seconds: 60, "the stream's frames") {
                var reader = SSEReader(response)
                let opening = try await reader.read { $0.event == "status" }
                #expect(opening.last?.json?["status"] == "running")
                // A connection opened after the stream is closed for idling, so the stream has
                // written nothing for longer than the idle timeout by then.
                let idle = try await offThePool { try RawConnection(port: port) }
                #expect(await offThePool { idle.isClosedByServer() })
                llm.openAll()
                let rest = try await reader.read { $0.event == "done" }
                #expect(rest.last?.json?["status"] == "succeeded", "the stream was still open and got its end")
            }
        }
    }

    /// Requests whose head is past a limit, by what is too large (the labels name the test
    /// cases; the requests are too long to print).
    static func oversizedHead(_ label: String) -> String {
        switch label {
        case "a URL over 16 KiB": "GET /runs?agent=\(String(repeating: "a", count: 17 * 1024)) HTTP/1.1\r\nHost: localhost\r\n\r\n"
        case "one header over 16 KiB": "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: \(String(repeating: "b", count: 17 * 1024))\r\n\r\n"
        case "headers over 64 KiB together":
            "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                + (0..<9).map { "X-Part-\($0): \(String(repeating: "c", count: 8 * 1024))\r\n" }.joined() + "\r\n"
        default: "GET /healthz HTTP/1.1\r\nHost: localhost\r\n" + (0..<101).map { "X-N\($0): 1\r\n" }.joined() + "\r\n"
        }
    }

    @Test(arguments: ["a URL over 16 KiB", "one header over 16 KiB", "headers over 64 KiB together", "more than 100 headers"])
    func aHeadPastTheLimitsIsAJSON431(_ label: String) async throws {
        let request = Self.oversizedHead(label)
        try await withLiveServer(configuration: Self.configuration(idleTimeout: .seconds(60))) { server, _ in
            let connection = try await offThePool { try RawConnection(port: server.port) }
            connection.send(request)
            let response = try #require(await offThePool { connection.readResponse() }, "\(label): an answer, not a silent close")
            #expect(response.hasPrefix("HTTP/1.1 431 "), "\(label): \(response.prefix(80))")
            let body = try JSONValue.parse(String(response[try #require(response.range(of: "\r\n\r\n")).upperBound...]))
            #expect(body["error"]?["code"] == "headers_too_large", "\(label)")
            #expect(body["error"]?["message"]?.stringValue?.contains("16 KiB") == true, "\(label)")
            #expect(response.lowercased().contains("x-content-type-options: nosniff"), "\(label)")
            #expect(response.lowercased().contains("frame-ancestors 'none'"), "\(label)")
            #expect(await offThePool { connection.isClosedByServer() }, "\(label)")
            // The server goes on serving.
            #expect(try await server.get("/healthz").status == .ok)
        }
    }

    @Test func aHeadJustUnderTheLimitsIsServed() async throws {
        try await withLiveServer(configuration: Self.configuration(idleTimeout: .seconds(60))) { server, _ in
            let connection = try await offThePool { try RawConnection(port: server.port) }
            let headers = (0..<80).map { "X-N\($0): \(String(repeating: "d", count: 500))\r\n" }.joined()
            connection.send("GET /healthz?pad=\(String(repeating: "p", count: 15 * 1024)) HTTP/1.1\r\nHost: localhost\r\n\(headers)\r\n")
            #expect(await offThePool { connection.readResponse() }?.hasPrefix("HTTP/1.1 200 ") == true)
        }
    }

    @Test(arguments: [
        "HELLO\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/0.9\r\n\r\n",
        "GET /\u{01} HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    ])
    func bytesThatAreNotHTTPAreAJSON400(request: String) async throws {
        try await withLiveServer(configuration: Self.configuration(idleTimeout: .seconds(60))) { server, _ in
            let connection = try await offThePool { try RawConnection(port: server.port) }
            connection.send(request)
            let response = try #require(await offThePool { connection.readResponse() })
            #expect(response.hasPrefix("HTTP/1.1 400 "), "\(response.prefix(80))")
            #expect(response.contains(#""code":"bad_request""#))
            #expect(response.lowercased().contains("x-content-type-options: nosniff"))
            #expect(await offThePool { connection.isClosedByServer() }, "one answer, then the end")
            #expect(try await server.get("/healthz").status == .ok)
        }
    }
}
