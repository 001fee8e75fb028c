import Foundation
import Logging
import PostgresNIO
import TetherCore

/// The ``DataStore`` on PostgreSQL: namespaced keys shared by every instance.
public final class PostgresDataStore: DataStore {
    let database: PostgresDatabase
    let logger: Logger
    var client: PostgresClient { database.client }

    public init(database: PostgresDatabase, logger: Logger = Logger(label: "tether.postgres")) {
        self.database = database
        self.logger = logger
    }

    public func value(for key: StoreKey) async throws -> String? {
        let rows = try await client.query(
            "SELECT value FROM store_entries WHERE namespace = \(key.namespace) AND key = \(key.key)",
            logger: logger
        )
        for try await value in rows.decode(ByteBuffer.self) { return String(buffer: value) }
        return nil
    }

    public func setValue(_ value: String, for key: StoreKey) async throws {
        try database.checkWritable()
        try await client.run(
            """
            INSERT INTO store_entries (namespace, key, value, updated_at)
            VALUES (\(key.namespace), \(key.key), \(ByteBuffer(string: value)), \(Date().timeIntervalSinceReferenceDate))
            ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """,
            logger: logger
        )
    }

    public func deleteValue(for key: StoreKey) async throws -> Bool {
        try database.checkWritable()
        let rows = try await client.query(
            "DELETE FROM store_entries WHERE namespace = \(key.namespace) AND key = \(key.key) RETURNING 1",
            logger: logger
        )
        for try await _ in rows { return true }
        return false
    }

    public func entries(in namespace: String, prefix: String) async throws -> [StoreEntry] {
        // left() rather than LIKE: keys may hold % and _. COLLATE "C" sorts by code point, as
        // SQLite does (the schema says so).
        let rows = try await client.query(
            """
            SELECT key, value, updated_at FROM store_entries
            WHERE namespace = \(namespace) AND left(key, char_length(\(prefix))) = \(prefix) ORDER BY key
            """,
            logger: logger
        )
        var entries: [StoreEntry] = []
        for try await (key, value, updated) in rows.decode((String, ByteBuffer, Double).self) {
            entries.append(
                StoreEntry(namespace: namespace, key: key, value: String(buffer: value), updatedAt: Date(timeIntervalSinceReferenceDate: updated))
            )
        }
        return entries
    }

    public func namespaces() async throws -> [NamespaceSummary] {
        let rows = try await client.query(
            """
            SELECT namespace, count(*)::bigint, sum(octet_length(value))::bigint, max(updated_at)
            FROM store_entries GROUP BY namespace ORDER BY namespace
            """,
            logger: logger
        )
        var summaries: [NamespaceSummary] = []
        for try await (namespace, keys, bytes, updated) in rows.decode((String, Int, Int?, Double).self) {
            summaries.append(
                NamespaceSummary(namespace: namespace, keys: keys, bytes: bytes ?? 0, updatedAt: Date(timeIntervalSinceReferenceDate: updated))
            )
        }
        return summaries
    }
}
