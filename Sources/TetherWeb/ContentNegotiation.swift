import Hummingbird

extension Request {
    /// Whether the client asked for HTML (DESIGN §4): only when `Accept` names `text/html`
    /// explicitly with a quality at least that of `application/json`. `*/*`, a missing header,
    /// and `curl`'s default all mean JSON.
    var prefersHTML: Bool {
        AcceptHeader(headers[values: .accept].joined(separator: ",")).prefersHTML
    }
}

/// The parts of an `Accept` header that matter here.
struct AcceptHeader {
    var html: Double?
    var json: Double?

    init(_ header: String) {
        for range in header.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first else { continue }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 1.0
            }
            switch type {
            case "text/html": html = max(html ?? 0, quality)
            case "application/json": json = max(json ?? 0, quality)
            case "application/*": json = max(json ?? 0, quality)
            default: break
            }
        }
    }

    var prefersHTML: Bool {
        guard let html, html > 0 else { return false }
        return html >= (json ?? 0)
    }
}
