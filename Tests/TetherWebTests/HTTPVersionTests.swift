import Foundation
import Testing
import TetherCore
import TetherTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// HTTP done right for every client (issue 13), over a raw socket: HTTP/1.0 without
/// keep-alive gets its connection closed after the response; HTTP/1.0 with keep-alive and
/// HTTP/1.1 keep it.
@Suite struct HTTPVersionTests {
    /// A raw TCP connection to 127.0.0.1 with a receive timeout as the only fail-safe. Its
    /// calls block, so tests make them through ``offThePool(_:)``: the server under test
    /// runs on the same cooperative threads.
    final class RawConnection: @unchecked Sendable {
        let fd: Int32

        init(port: Int) throws {
            fd = try #require(LoopbackSocket.connect(port: port))
        }

        deinit { close(fd) }

        func send(_ text: String) {
            _ = text.withCString { Glibc.send(fd, $0, strlen($0), 0) }
        }

        /// Bytes read past the last response returned.
        private var pending = [UInt8]()

        /// Reads one response (headers and a `Content-Length` body).
        func readResponse() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                if let end = Self.headerEnd(in: pending) {
                    let head = String(decoding: pending[..<end], as: UTF8.self)
                    let length =
                        head.split(separator: "\r\n")
                        .first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    if pending.count >= end + 4 + length {
                        let response = String(decoding: pending[..<(end + 4 + length)], as: UTF8.self)
                        pending.removeFirst(end + 4 + length)
                        return response
                    }
                }
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { return nil }
                pending += buffer[0..<count]
            }
        }

        static func headerEnd(in bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10
            {
                return index
            }
            return nil
        }

        /// Whether the server closed the connection (a read returns end of file), within the
        /// receive timeout.
        func isClosedByServer() -> Bool {
            var buffer = [UInt8](repeating: 0, count: 64)
            return recv(fd, &buffer, buffer.count, 0) == 0
        }
    }

    @Test func http10WithoutKeepAliveIsClosedAfterTheResponse() async throws {
        try await withLiveServer { server, _ in
            let connection = try await offThePool { try RawConnection(port: server.port) }
            connection.send("GET /healthz HTTP/1.0\r\n\r\n")
            let response = try #require(await offThePool { connection.readResponse() })
            #expect(response.contains(" 200 "))
            #expect(await offThePool { connection.isClosedByServer() }, "an HTTP/1.0 client reads until the server closes")
        }
    }

    @Test(arguments: ["GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"])
    func keepAliveConnectionsStayOpen(request: String) async throws {
        try await withLiveServer { server, _ in
            let connection = try await offThePool { try RawConnection(port: server.port) }
            connection.send(request)
            #expect(await offThePool { connection.readResponse() }?.contains(" 200 ") == true)
            connection.send(request)
            #expect(await offThePool { connection.readResponse() }?.contains(" 200 ") == true, "the same connection answers again")
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withLiveServer { server, _ in
            let connection = try await offThePool { try RawConnection(port: server.port) }
            connection.send(
                "GET /agents HTTP/1.1\r\nHost: localhost\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                    + "GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            )
            let first = try #require(await offThePool { connection.readResponse() })
            let second = try #require(await offThePool { connection.readResponse() })
            let third = try #require(await offThePool { connection.readResponse() })
            #expect(first.contains(" 200 ") && first.hasSuffix("[]"), "agents first: \(first)")
            #expect(second.contains(" 200 ") && second.contains("\"status\":\"ok\""))
            #expect(third.contains(" 404 "))
        }
    }
}
