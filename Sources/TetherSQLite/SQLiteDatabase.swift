import Foundation
import GRDB

/// Tether's SQLite file (`tether.sqlite` in `TETHER_DATA_DIR`), in WAL mode, with its schema
/// migrated at open.
///
/// Opening refuses, without writing anything, a file that is not a SQLite database and one
/// whose schema comes from a newer Tether: such a file is inspected through a read-only
/// connection before any writer touches it.
public final class SQLiteDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String

    public static let fileName = "tether.sqlite"

    private let groupCommit: GroupCommit

    private init(pool: DatabasePool, path: String) {
        self.pool = pool
        self.path = path
        groupCommit = GroupCommit(pool: pool)
    }

    /// Runs `work` in a write transaction shared with the writes that arrive meanwhile
    /// (``GroupCommit``), and returns its result once that transaction has committed. The
    /// stores' frequent small writes go through here.
    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await groupCommit.write(work)
    }

    /// Opens (creating it and its folder if need be) the database in `directory`.
    public static func open(directory: String) throws(StorageSetupError) -> SQLiteDatabase {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StorageSetupError("the data folder \(directory) cannot be created: \(error.localizedDescription)")
        }
        return try open(path: (directory as NSString).appendingPathComponent(fileName))
    }

    /// Opens the database file at `path`.
    public static func open(path: String) throws(StorageSetupError) -> SQLiteDatabase {
        let migrator = Schema.migrator
        if FileManager.default.fileExists(atPath: path) {
            try inspect(path: path, migrator: migrator)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "tether"
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try migrator.migrate(pool)
            return SQLiteDatabase(pool: pool, path: path)
        } catch {
            throw StorageSetupError("the database \(path) cannot be opened: \(Self.reason(error))")
        }
    }

    /// Reads an existing file without writing: is it a database, and one this Tether knows?
    private static func inspect(path: String, migrator: DatabaseMigrator) throws(StorageSetupError) {
        var configuration = Configuration()
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let superseded = try queue.read { db in
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master")
                return try migrator.hasBeenSuperseded(db)
            }
            try queue.close()
            if superseded {
                throw StorageSetupError(
                    "the database \(path) was written by a newer version of Tether (its schema has migrations this version does not know); use that version, or another TETHER_DATA_DIR"
                )
            }
        } catch let error as StorageSetupError {
            throw error
        } catch {
            throw StorageSetupError("the database \(path) cannot be read: \(Self.reason(error)); it was left untouched")
        }
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? error.description }
        return String(describing: error)
    }
}

/// A database Tether cannot start with.
public struct StorageSetupError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
