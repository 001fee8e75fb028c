import Foundation
import Hummingbird
import TetherCore

/// The read-only view of the agents' data store: `GET /store` lists namespaces,
/// `GET /store/{namespace}` its keys with sizes and update times, `?key=K` one whole value.
/// JSON for API clients, pages for browsers.
struct StoreController {
    let dataStore: any DataStore
    let renderer: PageRenderer

    /// How much of a value the key list shows.
    static let previewLength = 160

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("store", use: namespaces)
        router.get("store/{namespace}", use: namespace)
    }

    @Sendable func namespaces(request: Request, context: AppRequestContext) async throws -> Response {
        let summaries = try await dataStore.namespaces()
        guard request.prefersHTML else { return try .json(summaries) }
        let rows = summaries.map {
            StoreNamespaceRow(
                namespace: $0.namespace, url: "/store/\(BulkStopFilter.escape($0.namespace))", keys: $0.keys,
                bytes: Self.size($0.bytes), updatedAt: APIJSON.timestamp($0.updatedAt))
        }
        return renderer.page("store", StorePage(
            title: "Data store — Tether", assetVersion: renderer.assetVersion, isOverview: true, namespaces: rows,
            hasNamespaces: !rows.isEmpty, namespace: nil, entries: [], hasEntries: false, entry: nil))
    }

    @Sendable func namespace(request: Request, context: AppRequestContext) async throws -> Response {
        let raw = context.parameters.get("namespace") ?? ""
        let name = raw.removingPercentEncoding ?? raw
        if let key = request.uri.queryParameters["key"].map(String.init) {
            let storeKey = StoreKey(namespace: name, key: key)
            guard let value = try await dataStore.value(for: storeKey),
                let entry = try await dataStore.entries(in: name, prefix: key).first(where: { $0.key == key })
            else { throw APIError(.notFound, "no value is stored at \(storeKey)") }
            guard request.prefersHTML else {
                return try .json(StoreValue(namespace: name, key: key, value: value, bytes: value.utf8.count, updatedAt: entry.updatedAt))
            }
            let view = StoreEntryView(
                key: key, value: value, bytes: Self.size(value.utf8.count), updatedAt: APIJSON.timestamp(entry.updatedAt),
                namespaceURL: "/store/\(BulkStopFilter.escape(name))")
            return renderer.page("store", StorePage(
                title: "\(name)/\(key) — Tether", assetVersion: renderer.assetVersion, isOverview: false, namespaces: [],
                hasNamespaces: false, namespace: name, entries: [], hasEntries: false, entry: view))
        }
        let entries = try await dataStore.entries(in: name, prefix: "")
        guard !entries.isEmpty else { throw APIError(.notFound, "the data store has no namespace '\(name)'") }
        guard request.prefersHTML else {
            return try .json(StoreNamespace(namespace: name, entries: entries.map {
                StoreKeyInfo(
                    key: $0.key, bytes: $0.value.utf8.count, updatedAt: $0.updatedAt, preview: Self.preview($0.value),
                    url: "/store/\(BulkStopFilter.escape(name))?key=\(BulkStopFilter.escape($0.key))")
            }))
        }
        let rows = entries.map { entry in
            let preview = Self.preview(entry.value)
            return StoreEntryRow(
                key: entry.key, url: "/store/\(BulkStopFilter.escape(name))?key=\(BulkStopFilter.escape(entry.key))",
                preview: preview, isTruncated: preview != entry.value, bytes: Self.size(entry.value.utf8.count),
                updatedAt: APIJSON.timestamp(entry.updatedAt))
        }
        return renderer.page("store", StorePage(
            title: "\(name) — data store — Tether", assetVersion: renderer.assetVersion, isOverview: false, namespaces: [],
            hasNamespaces: false, namespace: name, entries: rows, hasEntries: true, entry: nil))
    }

    static func preview(_ value: String) -> String {
        value.count > previewLength ? String(value.prefix(previewLength - 1)) + "…" : value
    }

    static func size(_ bytes: Int) -> String {
        bytes < 1024 ? "\(bytes) B" : String(format: "%.1f KiB", Double(bytes) / 1024)
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

struct StoreValue: Encodable {
    var namespace: String
    var key: String
    var value: String
    var bytes: Int
    var updatedAt: Date
}

struct StorePage: Sendable {
    var title: String
    var assetVersion: String
    var isOverview: Bool
    var namespaces: [StoreNamespaceRow]
    var hasNamespaces: Bool
    var namespace: String?
    var entries: [StoreEntryRow]
    var hasEntries: Bool
    var entry: StoreEntryView?
}

struct StoreNamespaceRow: Sendable {
    var namespace: String
    var url: String
    var keys: Int
    var bytes: String
    var updatedAt: String
}

struct StoreEntryRow: Sendable {
    var key: String
    var url: String
    var preview: String
    var isTruncated: Bool
    var bytes: String
    var updatedAt: String
}

struct StoreEntryView: Sendable {
    var key: String
    var value: String
    var bytes: String
    var updatedAt: String
    var namespaceURL: String
}
