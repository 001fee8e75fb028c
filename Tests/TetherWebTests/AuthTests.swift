import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import TetherApp
import TetherCore
import TetherWeb

/// `TETHER_API_TOKEN`: every request needs it, as a bearer token or the login page's cookie.
@Suite struct AuthTests {
    static let token = "s3cret-token"

    func withTokenServer(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await withServer(configuration: testConfiguration { $0.apiToken = Self.token }, agents: TestAgents.all) { client, _ in
            try await body(client)
        }
    }

    @Test func apiClientsNeedTheBearerToken() async throws {
        try await withTokenServer { client in
            let refused = try await client.execute(uri: "/runs", method: .get)
            #expect(refused.status == .unauthorized && refused.errorCode == "unauthorized")
            #expect(refused.headers[.wwwAuthenticate] == "Bearer")
            let wrong = try await client.execute(uri: "/runs", method: .get, headers: [.authorization: "Bearer nope"])
            #expect(wrong.status == .unauthorized)
            let allowed = try await client.execute(uri: "/runs", method: .get, headers: [.authorization: "Bearer \(Self.token)"])
            #expect(allowed.status == .ok)
            let post = try await client.postJSON("/runs", #"{"agent": "quick", "input": {"topic": "x"}}"#)
            #expect(post.status == .unauthorized, "nothing starts without the token")
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test func browsersSignInOnTheLoginPage() async throws {
        try await withTokenServer { client in
            let home = try await client.execute(uri: "/runs?status=failed", method: .get, headers: [.accept: "text/html"])
            #expect(home.status == .seeOther)
            #expect(home.headers[.location] == "/login?next=%2Fruns%3Fstatus%3Dfailed")
            let loginPage = try await client.execute(uri: "/login?next=%2Fruns", method: .get, headers: [.accept: "text/html"])
            let csrfCookie = String(try #require(loginPage.headers[.setCookie]).split(separator: ";")[0])
            let csrf = String(csrfCookie.dropFirst("tether_csrf=".count))
            let page = try checkedPage(loginPage.text)
            #expect(page.node("//form[@method='post' and @action='/login']//input[@type='password' and @name='token']") != nil)
            #expect(page.node("//input[@name='next']")?.attributes["value"] == "/runs")

            func signIn(_ token: String, next: String) async throws -> TestResponse {
                let body = "csrf=\(csrf)&next=\(BrowserSession.encode(next))&token=\(BrowserSession.encode(token))"
                return try await client.execute(
                    uri: "/login",
                    method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded", .cookie: csrfCookie, .accept: "text/html"],
                    body: ByteBuffer(string: body)
                )
            }
            let wrong = try await signIn("guess", next: "/runs")
            #expect(wrong.status == .unauthorized)
            #expect(try checkedPage(wrong.text).node("//*[@id='login-error']") != nil)
            #expect(wrong.headers[.setCookie]?.contains("tether_token") != true)

            let right = try await signIn(Self.token, next: "/runs")
            #expect(right.status == .seeOther && right.headers[.location] == "/runs")
            let tokenCookie = String(try #require(right.headers[.setCookie]).split(separator: ";")[0])
            #expect(try #require(right.headers[.setCookie]).contains("HttpOnly"))
            let signedIn = try await client.execute(
                uri: "/runs",
                method: .get,
                headers: [.accept: "text/html", .cookie: "\(csrfCookie); \(tokenCookie)"]
            )
            #expect(signedIn.status == .ok)
            _ = try checkedPage(signedIn.text)

            for next in ["//evil.example/", "/\t/evil.example", "/\\evil.example", "https://evil.example/"] {
                let elsewhere = try await signIn(Self.token, next: next)
                #expect(elsewhere.headers[.location] == "/", "no redirect off this server for \(next.debugDescription)")
            }
        }
    }

    @Test func aNonLoopbackAddressWithoutATokenIsRefusedAtStartUp() async throws {
        var configuration = testConfiguration()
        configuration.host = "0.0.0.0"
        await #expect {
            _ = try await buildApplication(configuration, dependencies: ServerDependencies(storage: .memory))
        } throws: { error in
            String(describing: error).contains("TETHER_API_TOKEN")
        }
    }
}
