/// The data store's pages. Stored properties only, for Mirror.
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
