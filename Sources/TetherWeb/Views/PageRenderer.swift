import Foundation
import Hummingbird
import Mustache
import TetherApp

/// Renders the screen's Mustache templates, loaded once at start-up.
///
/// User text only ever goes through `{{ }}`, which escapes it; no template uses `{{{ }}}`.
struct PageRenderer: Sendable {
    let library: MustacheLibrary
    /// Appended to the asset URLs (`/app.css?v=…`) so that a new build is fetched at once
    /// although assets are cached for a day.
    let assetVersion: String

    static let requiredTemplates = ["layout", "runs", "error", "chip", "answer", "confirm-stop", "store", "login"]

    /// Loads `directory` and checks that every template the screen needs is there (a missing
    /// folder loads no template, without an error).
    static func load(templates directory: String, assets: String) async throws(StartupError) -> PageRenderer {
        let library: MustacheLibrary
        do {
            library = try await MustacheLibrary(directory: directory)
        } catch {
            throw StartupError("the templates in \(directory) could not be read: \(error)")
        }
        let missing = requiredTemplates.filter { library.getTemplate(named: $0) == nil }
        guard missing.isEmpty else {
            throw StartupError(
                "the templates folder \(directory) lacks \(missing.map { "\($0).mustache" }.joined(separator: ", ")); start Tether from its package folder or set the templates path"
            )
        }
        return PageRenderer(library: library, assetVersion: Self.version(of: assets))
    }

    /// A short hash of the assets' contents.
    static func version(of directory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for name in ["app.css", "app.js"] {
            for byte in FileManager.default.contents(atPath: "\(directory)/\(name)") ?? Data() {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
        }
        return String(hash, radix: 36)
    }

    /// An HTML response of `template` rendered with `view`.
    func page(_ template: String, _ view: Any, status: HTTPResponse.Status = .ok) -> Response {
        var html = library.render(view, withTemplate: template) ?? "<!DOCTYPE html><title>Tether</title><p>Missing template \(template).</p>"
        // HTML has no place for U+0000 (a parse error in every browser): what a user gave
        // with one, an input or a stored value, shows U+FFFD instead, as browsers would.
        if html.utf8.contains(0) { html = html.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") }
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }
}
