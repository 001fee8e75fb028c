import Foundation
import HummingbirdTesting
import Testing
import TetherApp
import TetherCore
import TetherTestSupport
import TetherWeb

/// Static files come only from `Public/` (issue 13): no path that escapes it (encoded dots,
/// backslashes, a symlink), and every response carries the security headers — static files,
/// errors and event streams included.
@Suite struct StaticFilesTests {
    /// A copy of `Public/` with a symlink that points out of it.
    static func publicFolder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("public-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["app.css", "app.js"] {
            try FileManager.default.copyItem(
                atPath: packageRoot.appendingPathComponent("Public/\(name)").path,
                toPath: folder + "/" + name
            )
        }
        try FileManager.default.createSymbolicLink(
            atPath: folder + "/escape.txt",
            withDestinationPath: packageRoot.appendingPathComponent("Package.swift").path
        )
        return folder
    }

    static let headers: [(String, String)] = [
        ("Content-Security-Policy", "frame-ancestors 'none'"), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
    ]

    static func expectSecurityHeaders(_ response: TestResponse, _ what: String) {
        for (name, value) in headers {
            #expect(response.headers[.init(name)!]?.contains(value) == true, "\(name) on \(what)")
        }
    }

    @Test func pathsThatEscapePublicAreRefusedAndEveryResponseHasTheHeaders() async throws {
        var dependencies = testDependencies(agents: TestAgents.all, llm: GatedLLM())
        dependencies.publicDirectory = try Self.publicFolder()
        let app = try await buildApplication(testConfiguration(), dependencies: dependencies)
        try await app.test(.router) { client in
            let css = try await client.execute(uri: "/app.css", method: .get)
            #expect(css.status == .ok)
            Self.expectSecurityHeaders(css, "a static file")
            for path in [
                "/..%2fPackage.swift", "/%2e%2e/Package.swift", "/%2e%2e%2fPackage.swift", "/app.css/../../Package.swift",
                "/..\\Package.swift", "/%5c..%5cPackage.swift", "/.%2e/.%2e/Package.swift", "/%252e%252e/Package.swift",
                "/escape.txt", "/escape%2etxt", "/%65scape.txt",
            ] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .badRequest || response.status == .notFound, "\(path): \(response.status)")
                #expect(!response.text.contains("PackageDescription"), "\(path) served a file outside Public/")
                Self.expectSecurityHeaders(response, "the error for \(path)")
            }
            let id = try await client.startRun("quick", input: #"{"topic": "owls"}"#)
            let stream = try await client.execute(uri: "/runs/\(id)/events", method: .get)
            Self.expectSecurityHeaders(stream, "an event stream")
        }
    }
}
