import Foundation
import Testing
import TetherApp
import TetherCore
import TetherTestSupport

@testable import TetherWeb

#if canImport(Glibc)
import Glibc
#endif

/// The exposure rule without a token (issue 13): only a `Host` that is exactly a loopback
/// name, with an optional port, is served; lookalikes are `400`. `TETHER_HOST` is judged the
/// same way.
@Suite struct HostRuleTests {
    static let loopback = [
        "localhost", "LOCALHOST", "localhost:8080", "127.0.0.1", "127.0.0.1:80", "127.1.2.3:65535", "127.255.255.255",
        "[::1]", "[::1]:8080",
    ]
    static let hostile = [
        "localhost.evil.example", "localhost.", "localhost:", "localhost:http", "localhost:99999", "localhost:8080:1",
        "127.0.0.1.nip.io", "127.0.0.1.evil.example", "127.1", "127.0.0", "127.0.0.1.", "127.0.0.256", "127.0.0.-1",
        "1270.0.0.1", "128.0.0.1", "0.0.0.0", "10.0.0.1", "[::1", "[::2]", "[::1]x", "::1", "127.0.0.1@evil.example",
        "evil.example#127.0.0.1", "localhost%00.evil.example", "xn--localhost", "127.0.0.1 .evil", "",
    ]

    @Test func exactlyTheLoopbackNamesPass() {
        for authority in Self.loopback { #expect(Loopback.isLoopback(authority: authority), "\(authority)") }
        for authority in Self.hostile { #expect(!Loopback.isLoopback(authority: authority), "\(authority)") }
    }

    @Test func theBindAddressIsJudgedTheSameWay() async throws {
        for host in ["127.0.0.1.nip.io", "localhost.evil.example", "127.1", "0.0.0.0"] {
            await #expect {
                _ = try await buildApplication(
                    testConfiguration { $0.host = host },
                    dependencies: ServerDependencies(storage: .memory)
                )
            } throws: { error in
                String(describing: error).contains("TETHER_API_TOKEN")
            }
        }
    }

    /// Sends one raw request and returns the status line (the request says
    /// `Connection: close`, so the server ends the connection after its answer).
    static func statusLine(port: Int, host: String) throws -> String {
        let fd = try #require(LoopbackSocket.connect(port: port))
        defer { close(fd) }
        let request = "GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
    }

    @Test func overARealSocketLookalikesAreRefused() async throws {
        try await withLiveServer { server, _ in
            for host in Self.loopback {
                let line = try await offThePool { try Self.statusLine(port: server.port, host: host) }
                #expect(line.hasPrefix("HTTP/1.1 200"), "\(host): \(line)")
            }
            for host in Self.hostile where !host.isEmpty {
                let line = try await offThePool { try Self.statusLine(port: server.port, host: host) }
                #expect(line.hasPrefix("HTTP/1.1 400"), "\(host): \(line)")
            }
        }
    }
}
