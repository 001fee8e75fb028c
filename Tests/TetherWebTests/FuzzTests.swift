import Foundation
import Testing
import TetherCore
import TetherTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Malformed and hostile requests over a live socket (issue 13): none gets a `5xx`, none
/// crashes the server, none creates or changes a run, and the server is healthy after.
@Suite struct FuzzTests {
    /// Sends raw bytes on a new connection, half-closes it, and returns the status of the
    /// first response (`nil` when the server closed without answering, which is allowed).
    static func exchange(port: Int, _ bytes: [UInt8]) -> Int? {
        guard let fd = LoopbackSocket.connect(port: port) else { return -1 }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { break }
            offset += sent
        }
        shutdown(fd, Int32(SHUT_WR))
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < 64 {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        let line = String(decoding: received, as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = line.split(separator: " ")
        return parts.count >= 2 ? Int(parts[1]) : nil
    }

    static func request(
        _ method: String,
        _ target: String,
        version: String = "HTTP/1.1",
        headers: [String] = ["Host: localhost"],
        body: [UInt8] = [],
        contentLength: Int? = nil,
        close: Bool = true
    ) -> [UInt8] {
        var head = "\(method) \(target) \(version)\r\n"
        for header in headers { head += header + "\r\n" }
        if !body.isEmpty || contentLength != nil { head += "Content-Length: \(contentLength ?? body.count)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    /// The hostile requests, by kind.
    static func corpus(run: RunID) -> [(kind: String, bytes: [UInt8])] {
        var cases: [(String, [UInt8])] = []
        let json = ["Content-Type: application/json", "Host: localhost"]
        let form = ["Content-Type: application/x-www-form-urlencoded", "Host: localhost"]
        var generator = SystemRandomNumberGenerator()
        // Broken JSON.
        let broken = [
            "{", "}", "[", "{\"agent\":", "{\"agent\": quick}", "{'agent': 'quick'}", "{\"agent\": \"quick\",}", "nul", "tru",
            "{\"agent\": \"quick\", \"input\": {\"topic\": \"x\"}", "\"just a string\"", "12e999999", "-", "{\"a\":1}{\"b\":2}",
            "{\"agent\": \"quick\", \"agent\": \"quick\"}", "{\"\\u12\": 1}", "{\"a\": \"\\q\"}", "[1,2,,3]",
        ]
        for text in broken {
            for path in ["/runs", "/runs/stop", "/runs/\(run)/stop"] {
                cases.append(("broken JSON", request("POST", path, headers: json, body: Array(text.utf8))))
            }
        }
        // Deeply nested JSON.
        for depth in [65, 100, 1_000, 10_000, 100_000] {
            for opener in ["[", "{\"a\":"] {
                let body = String(repeating: opener, count: depth)
                cases.append(("deep JSON", request("POST", "/runs", headers: json, body: Array(body.utf8))))
                cases.append(("deep JSON", request("POST", "/runs", headers: json, body: Array(("{\"agent\":\"quick\",\"input\":" + body).utf8))))
            }
        }
        // Invalid UTF-8.
        for _ in 0..<30 {
            let garbage = (0..<Int.random(in: 1...200, using: &generator)).map { _ in UInt8.random(in: 0x80...0xFF, using: &generator) }
            cases.append(("invalid UTF-8", request("POST", "/runs", headers: json, body: Array("{\"agent\":\"".utf8) + garbage + Array("\"}".utf8))))
        }
        // Huge and truncated bodies.
        for size in [1_048_577, 2_000_000, 4_000_000] {
            cases.append(("huge body", request("POST", "/runs", headers: json, body: [UInt8](repeating: 0x20, count: size))))
        }
        for claimed in [10, 100, 10_000, 1_000_000, 5_000_000] {
            for path in ["/runs", "/runs/\(run)/stop", "/login"] {
                cases.append(("truncated body", request("POST", path, headers: json, body: Array("{\"agent\"".utf8), contentLength: claimed)))
            }
        }
        // Odd methods.
        for method in ["PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "FOO", "CONNECT", "PROPFIND"] {
            for path in ["/", "/runs", "/runs/\(run)", "/runs/\(run)/stop", "/agents"] {
                cases.append(("odd method", request(method, path)))
            }
        }
        // Path tricks.
        let paths = [
            "/../Package.swift", "/%2e%2e/Package.swift", "/runs/%2e%2e", "/runs/../agents", "//runs", "/runs//\(run)",
            "/runs/\(run)%00", "/runs/%00", "/runs/\(run)/../../etc/passwd", "/app.css%00.js", "/\\..\\Package.swift",
            "/" + String(repeating: "a", count: 8_000), "/runs/" + String(repeating: "9", count: 5_000), "/runs/\(run)/events/extra",
            "/store/%2e%2e", "/store/..%2f..%2fetc", "/runs/%", "/runs/%zz", "/%ff%fe", "*",
        ]
        for path in paths {
            cases.append(("path trick", request("GET", path)))
            cases.append(("path trick", request("POST", path, headers: json, body: Array("{}".utf8))))
            cases.append(("path trick", request("GET", path, headers: ["Host: localhost", "Accept: text/html"])))
        }
        // Percent-encoding tricks in queries.
        let queries = [
            "status=%", "status=%zz", "agent=%00", "limit=%31%30%30%30%30", "cursor=%ff%ff", "limit=-1", "limit=1e9",
            "limit=999999999999999999999", "cursor=" + String(repeating: "A", count: 5_000), "status=running&status=failed",
            "agent=" + String(repeating: "%41", count: 2_000), "wait=-1", "wait=1e308", "wait=nan", "force=maybe", "after=-5",
            "after=99999999999999999999", "after=abc", "=", "&&&",
        ]
        for query in queries {
            cases.append(("query trick", request("GET", "/runs?\(query)")))
            cases.append(("query trick", request("GET", "/runs/\(run)/events?\(query)")))
        }
        // Absurd Last-Event-IDs.
        for value in ["-1", "1e99", "abc", "1180591620717411303424", "", " ", "0x10", "9223372036854775808", "1.5", "\u{1}"] {
            for _ in 0..<3 {
                cases.append(("Last-Event-ID", request("GET", "/runs/\(run)/events", headers: ["Host: localhost", "Last-Event-ID: \(value)"])))
            }
        }
        // Forms without tokens, and with a wrong one.
        for body in ["agent=quick&input%5Btopic%5D=x", "agent=quick&input%5Btopic%5D=x&csrf=wrong", "csrf=", ""] {
            for path in ["/runs", "/runs/\(run)/stop", "/runs/stop", "/login"] {
                cases.append(("form without token", request("POST", path, headers: form, body: Array(body.utf8))))
                cases.append(
                    ("form without token", request("POST", path, headers: ["Content-Type: text/plain", "Host: localhost"], body: Array(body.utf8)))
                )
            }
        }
        // Foreign origins.
        for origin in ["http://evil.example", "null", "http://localhost.evil.example", "http://127.0.0.1.nip.io", "file://", "http://[::1]:1"] {
            for path in ["/runs", "/runs/\(run)/stop", "/runs/stop", "/login", "/runs/\(run)/stop?force=true"] {
                cases.append(
                    (
                        "foreign origin",
                        request(
                            "POST",
                            path,
                            headers: json + ["Origin: \(origin)"],
                            body: Array("{\"agent\":\"quick\",\"input\":{\"topic\":\"x\"}}".utf8)
                        )
                    )
                )
            }
        }
        // Hostile Host values.
        for host in ["evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "127.1", "localhost:99999", "", "[::1", "a b", "localhost\u{7F}"] {
            for path in ["/", "/runs", "/healthz"] {
                cases.append(("hostile Host", request("GET", path, headers: ["Host: \(host)"])))
            }
            cases.append(
                (
                    "hostile Host",
                    request(
                        "POST",
                        "/runs",
                        headers: ["Host: \(host)", "Content-Type: application/json"],
                        body: Array("{\"agent\":\"quick\",\"input\":{\"topic\":\"x\"}}".utf8)
                    )
                )
            )
        }
        // HTTP/1.0 and odd versions.
        for version in ["HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/1.2", "HTTP/9.9", "HTTP/1", "http/1.1"] {
            for path in ["/", "/runs", "/runs/\(run)", "/agents"] {
                cases.append(("HTTP version", request("GET", path, version: version, headers: [], close: false)))
            }
        }
        // Pipelining, with hostile requests in the middle.
        for _ in 0..<30 {
            let bytes =
                request("GET", "/agents", close: false) + request("POST", "/runs", headers: json, body: Array("{".utf8), close: false)
                + request("GET", "/runs/%zz", close: false) + request("GET", "/healthz")
            cases.append(("pipelined", bytes))
        }
        // Half-sent requests.
        let halves = [
            "GET", "GET /", "GET /runs HTTP/1.1", "GET /runs HTTP/1.1\r\nHost: local", "POST /runs HTTP/1.1\r\nContent-Length: 5\r\n",
            "GET /runs HTTP/1.1\r\nHost: localhost\r\nX-Long: " + String(repeating: "x", count: 100_000),
        ]
        for half in halves {
            for _ in 0..<5 { cases.append(("half-sent", Array(half.utf8))) }
        }
        // Garbage.
        for _ in 0..<30 {
            cases.append(("garbage", (0..<Int.random(in: 1...512, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        }
        return cases
    }

    @Test func hostileRequestsNeverGetA5xxNorChangeARun() async throws {
        try await withLiveServer(agents: TestAgents.all) { server, supervisor in
            let run = try await server.startRun("quick", input: #"{"topic": "owls"}"#)
            _ = try await withTimeout { try await supervisor.waitUntilFinished(run) }
            let before = try await supervisor.listRuns(RunQuery(limit: 500, includeChildren: true))
            let cases = Self.corpus(run: run)
            #expect(cases.count >= 500)
            var counts: [String: (sent: Int, answered: Int)] = [:]
            let port = server.port
            for (kind, bytes) in cases {
                let status = await offThePool { Self.exchange(port: port, bytes) }
                #expect(status != -1, "the server accepts connections (\(kind))")
                if let status, status >= 500 { Issue.record("\(kind): \(status) for \(String(decoding: bytes.prefix(120), as: UTF8.self))") }
                counts[kind, default: (0, 0)].sent += 1
                if status != nil { counts[kind, default: (0, 0)].answered += 1 }
            }
            let summary = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.sent) (\($0.value.answered) answered)" }
            print("fuzz: \(cases.count) requests: " + summary.joined(separator: ", "))
            #expect(try await server.get("/healthz").status == .ok, "healthy after")
            let after = try await supervisor.listRuns(RunQuery(limit: 500, includeChildren: true))
            #expect(after == before, "no run created or changed")
        }
    }
}
