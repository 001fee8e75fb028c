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
