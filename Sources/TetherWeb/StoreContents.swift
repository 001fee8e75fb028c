import Foundation
import Hummingbird
import TetherCore

/// `GET /store`: every namespace, with its size and last update.
struct StoreOverview: Negotiated {
    var namespaces: [NamespaceSummary]

    func jsonResponse() throws -> Response {
        try .json(namespaces)
    }

    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        let renderer = browser.renderer
        let rows = namespaces.map {
            StoreNamespaceRow(
                namespace: $0.namespace,
                url: "/store/\(BulkStopFilter.escape($0.namespace))",
                keys: $0.keys,
                bytes: StoreFormat.size($0.bytes),
                updatedAt: APIJSON.timestamp($0.updatedAt)
            )
        }
        return renderer.page(
            "store",
            StorePage(
                title: "Data store — Tether",
                assetVersion: renderer.assetVersion,
                isOverview: true,
                namespaces: rows,
                hasNamespaces: !rows.isEmpty,
                namespace: nil,
                entries: [],
                hasEntries: false,
                entry: nil
            )
        )
    }
}

/// `GET /store/{namespace}`: its keys, or with `?key=` one whole value.
enum StoreContents: Negotiated {
    case namespace(String, [StoreEntry])
    case value(StoreValue)

    func jsonResponse() throws -> Response {
        switch self {
        case .value(let value):
            return try .json(value)
        case .namespace(let name, let entries):
            return try .json(
                StoreNamespace(
                    namespace: name,
                    entries: entries.map {
                        StoreKeyInfo(
                            key: $0.key,
                            bytes: $0.value.utf8.count,
                            updatedAt: $0.updatedAt,
                            preview: StoreFormat.preview($0.value),
                            url: StoreFormat.url(name, key: $0.key)
                        )
                    }
                )
            )
        }
    }

    func browserResponse(_ browser: BrowserRendering) async throws -> Response {
        let renderer = browser.renderer
        switch self {
        case .value(let value):
            let view = StoreEntryView(
                key: value.key,
                value: value.value,
                bytes: StoreFormat.size(value.bytes),
                updatedAt: APIJSON.timestamp(value.updatedAt),
                namespaceURL: StoreFormat.url(value.namespace)
            )
            return renderer.page(
                "store",
                StorePage(
                    title: "\(value.namespace)/\(value.key) — Tether",
                    assetVersion: renderer.assetVersion,
                    isOverview: false,
                    namespaces: [],
                    hasNamespaces: false,
                    namespace: value.namespace,
                    entries: [],
                    hasEntries: false,
                    entry: view
                )
            )
        case .namespace(let name, let entries):
            let rows = entries.map { entry in
                let preview = StoreFormat.preview(entry.value)
                return StoreEntryRow(
                    key: entry.key,
                    url: StoreFormat.url(name, key: entry.key),
                    preview: preview,
                    isTruncated: preview != entry.value,
                    bytes: StoreFormat.size(entry.value.utf8.count),
                    updatedAt: APIJSON.timestamp(entry.updatedAt)
                )
            }
            return renderer.page(
                "store",
                StorePage(
                    title: "\(name) — data store — Tether",
                    assetVersion: renderer.assetVersion,
                    isOverview: false,
                    namespaces: [],
                    hasNamespaces: false,
                    namespace: name,
                    entries: rows,
                    hasEntries: true,
                    entry: nil
                )
            )
        }
    }
}

/// How the store's pages and JSON show sizes, previews and links.
enum StoreFormat {
    /// How much of a value the key list shows.
    static let previewLength = 160

    static func preview(_ value: String) -> String {
        value.count > previewLength ? String(value.prefix(previewLength - 1)) + "…" : value
    }

    static func size(_ bytes: Int) -> String {
        bytes < 1024 ? "\(bytes) B" : String(format: "%.1f KiB", Double(bytes) / 1024)
    }

    /// `/store/NAMESPACE`, or `/store/NAMESPACE?key=KEY`.
    static func url(_ namespace: String, key: String? = nil) -> String {
        "/store/\(BulkStopFilter.escape(namespace))" + (key.map { "?key=\(BulkStopFilter.escape($0))" } ?? "")
    }
}

struct StoreKeyInfo: Encodable {
    var key: String
    var bytes: Int
    var updatedAt: Date
    var preview: String
    var url: String
}

struct StoreNamespace: Encodable {
    var namespace: String
    var entries: [StoreKeyInfo]
}

struct StoreValue: Encodable, Sendable {
    var namespace: String
    var key: String
    var value: String
    var bytes: Int
    var updatedAt: Date
}
