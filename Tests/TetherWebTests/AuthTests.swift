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

/// The login form under attack (issue 13): rate-limited per client, the cookie `SameSite=Strict`
/// and not the token, and no response carrying the token.
@Suite struct LoginHardeningTests {
    static let token = "s3cret-token-for-hardening"

    /// Posts the login form with `token`, as a browser whose CSRF cookie is `csrfCookie`.
    static func signIn(_ client: any TestClientProtocol, _ token: String, csrfCookie: String) async throws -> TestResponse {
        let csrf = String(csrfCookie.dropFirst("tether_csrf=".count))
        return try await client.execute(
            uri: "/login",
            method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .cookie: csrfCookie, .accept: "text/html"],
            body: ByteBuffer(string: "csrf=\(csrf)&next=%2F&token=\(BrowserSession.encode(token))")
        )
    }

    static func csrfCookie(_ client: any TestClientProtocol) async throws -> String {
        let page = try await client.execute(uri: "/login", method: .get, headers: [.accept: "text/html"])
        return String(try #require(page.headers[.setCookie]).split(separator: ";")[0])
    }

    /// Everything a response shows: its headers and its body.
    static func shown(_ response: TestResponse) -> String {
        response.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n" + response.text
    }

    @Test func wrongTokensAreLimitedPerClientEvenTheRightOneIsRefusedMeanwhile() async throws {
        try await withServer(configuration: testConfiguration { $0.apiToken = Self.token }) { client, _ in
            let cookie = try await Self.csrfCookie(client)
            for attempt in 1...5 {
                let wrong = try await Self.signIn(client, "guess-\(attempt)", csrfCookie: cookie)
                #expect(wrong.status == .unauthorized, "attempt \(attempt)")
            }
            let limited = try await Self.signIn(client, "guess-6", csrfCookie: cookie)
            #expect(limited.status == .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            _ = try checkedPage(limited.text)
            let right = try await Self.signIn(client, Self.token, csrfCookie: cookie)
            #expect(right.status == .tooManyRequests, "a brute force cannot land its lucky guess either")
        }
    }

    @Test func theLoginCookieIsStrictAndNoResponseCarriesTheToken() async throws {
        try await withServer(configuration: testConfiguration { $0.apiToken = Self.token }) { client, _ in
            let cookie = try await Self.csrfCookie(client)
            let wrong = try await Self.signIn(client, "a-wrong-guess", csrfCookie: cookie)
            #expect(!Self.shown(wrong).contains("a-wrong-guess"), "a wrong guess is not echoed")
            let right = try await Self.signIn(client, Self.token, csrfCookie: cookie)
            #expect(right.status == .seeOther)
            let setCookie = try #require(right.headers[values: .setCookie].first { $0.hasPrefix("tether_token=") })
            #expect(setCookie.contains("SameSite=Strict") && setCookie.contains("HttpOnly"))
            #expect(!Self.shown(right).contains(Self.token), "the token is never in a response")
            let session = String(setCookie.split(separator: ";")[0])
            let page = try await client.execute(uri: "/", method: .get, headers: [.accept: "text/html", .cookie: "\(cookie); \(session)"])
            #expect(page.status == .ok)
            #expect(!Self.shown(page).contains(Self.token))
        }
    }
}
