import Foundation
import GRDB
import TetherCore

/// The ``DataStore`` of the embedded default: namespaced keys in SQLite, kept across runs and
/// restarts. Values are written as blobs (UTF-8), so one holding U+0000 comes back whole: text
/// is read up to its first NUL. Values written as text by earlier versions read the same.
public final class SQLiteDataStore: DataStore {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func value(for key: StoreKey) async throws -> String? {
        try await database.pool.read { db in
            try Data.fetchOne(
                db,
                sql: "SELECT value FROM store_entries WHERE namespace = ? AND key = ?",
                arguments: [key.namespace, key.key]
            ).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    public func setValue(_ value: String, for key: StoreKey) async throws {
        let now = Date().timeIntervalSinceReferenceDate
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO store_entries (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """,
                arguments: [key.namespace, key.key, Data(value.utf8), now]
            )
        }
    }

    public func deleteValue(for key: StoreKey) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM store_entries WHERE namespace = ? AND key = ?", arguments: [key.namespace, key.key])
            return db.changesCount > 0
        }
    }

    public func entries(in namespace: String, prefix: String) async throws -> [StoreEntry] {
        try await database.pool.read { db in
            // substr() rather than LIKE: keys may hold % and _.
            try Row.fetchAll(
                db,
                sql: """
                    SELECT key, value, updated_at FROM store_entries
                    WHERE namespace = ? AND substr(key, 1, length(?)) = ? ORDER BY key
                    """,
                arguments: [namespace, prefix, prefix]
            ).map { row in
                StoreEntry(
                    namespace: namespace,
                    key: row["key"],
                    value: String(decoding: row["value"] as Data, as: UTF8.self),
                    updatedAt: Date(timeIntervalSinceReferenceDate: row["updated_at"])
                )
            }
        }
    }

    public func namespaces() async throws -> [NamespaceSummary] {
        try await database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT namespace, count(*) AS keys, sum(length(CAST(value AS BLOB))) AS bytes, max(updated_at) AS updated
                    FROM store_entries GROUP BY namespace ORDER BY namespace
                    """
            ).map { row in
                NamespaceSummary(
                    namespace: row["namespace"],
                    keys: row["keys"],
                    bytes: row["bytes"] ?? 0,
                    updatedAt: Date(timeIntervalSinceReferenceDate: row["updated"])
                )
            }
        }
    }
}
