import Foundation
import Synchronization
import TetherCore

/// A ``DataStore`` in memory, for tests. Nothing survives the process.
public final class MemoryDataStore: DataStore {
    private let entries = Mutex<[StoreKey: StoreEntry]>([:])
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
    }

    public func value(for key: StoreKey) async throws -> String? {
        entries.withLock { $0[key]?.value }
    }

    public func setValue(_ value: String, for key: StoreKey) async throws {
        let entry = StoreEntry(namespace: key.namespace, key: key.key, value: value, updatedAt: now())
        entries.withLock { $0[key] = entry }
    }

    public func deleteValue(for key: StoreKey) async throws -> Bool {
        entries.withLock { $0.removeValue(forKey: key) != nil }
    }

    public func entries(in namespace: String, prefix: String) async throws -> [StoreEntry] {
        entries.withLock { entries in
            entries.values
                .filter { $0.namespace == namespace && $0.key.hasPrefix(prefix) }
                .sorted { $0.key < $1.key }
        }
    }

    public func namespaces() async throws -> [NamespaceSummary] {
        entries.withLock { entries in
            Dictionary(grouping: entries.values, by: \.namespace).map { namespace, items in
                NamespaceSummary(
                    namespace: namespace,
                    keys: items.count,
                    bytes: items.reduce(0) { $0 + $1.value.utf8.count },
                    updatedAt: items.map(\.updatedAt).max()!
                )
            }.sorted { $0.namespace < $1.namespace }
        }
    }
}
