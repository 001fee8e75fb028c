import Foundation

/// The key/value data store shared by every agent (DESIGN §6), so one agent reads what
/// another wrote. Implementations: memory (tests) and SQLite (the embedded default).
public protocol DataStore: Sendable {
    func value(for key: StoreKey) async throws -> String?
    func setValue(_ value: String, for key: StoreKey) async throws
    /// Returns whether there was a value to delete.
    func deleteValue(for key: StoreKey) async throws -> Bool
    /// The entries of `namespace` whose key starts with `prefix`, sorted by key.
    func entries(in namespace: String, prefix: String) async throws -> [StoreEntry]
    /// Every namespace with its number of keys, their total size and latest update, by name.
    func namespaces() async throws -> [NamespaceSummary]
}

/// One namespace of the data store, summed up.
public struct NamespaceSummary: Sendable, Hashable, Codable {
    public var namespace: String
    public var keys: Int
    /// The values' total size in bytes (UTF-8).
    public var bytes: Int
    public var updatedAt: Date

    public init(namespace: String, keys: Int, bytes: Int, updatedAt: Date) {
        self.namespace = namespace
        self.keys = keys
        self.bytes = bytes
        self.updatedAt = updatedAt
    }
}

/// A key of the data store: `brief/intro` is `intro` in namespace `brief`; a key with no
/// `/` lives in namespace `default`. Only the first `/` separates: `a/b/c` is `b/c` in `a`.
public struct StoreKey: Sendable, Hashable, CustomStringConvertible {
    public static let defaultNamespace = "default"

    public var namespace: String
    public var key: String

    public init(namespace: String, key: String) {
        self.namespace = namespace
        self.key = key
    }

    /// Splits `namespace/key` (see the type's documentation).
    public init(parsing path: String) {
        if let slash = path.firstIndex(of: "/") {
            namespace = String(path[..<slash])
            key = String(path[path.index(after: slash)...])
        } else {
            namespace = Self.defaultNamespace
            key = path
        }
        if namespace.isEmpty { namespace = Self.defaultNamespace }
    }

    public var description: String { "\(namespace)/\(key)" }
}

/// One entry of the data store.
public struct StoreEntry: Sendable, Hashable, Codable {
    public var namespace: String
    public var key: String
    public var value: String
    public var updatedAt: Date

    public init(namespace: String, key: String, value: String, updatedAt: Date) {
        self.namespace = namespace
        self.key = key
        self.value = value
        self.updatedAt = updatedAt
    }
}
