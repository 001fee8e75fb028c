import Foundation
import GRDB
import Testing
import TetherSQLite

@Suite struct SQLiteDatabaseTests {
    @Test func aMissingDatabaseIsCreatedWithItsFolderAndSchema() throws {
        let folder = temporaryFolder() + "/nested/data"
        let database = try SQLiteDatabase.open(directory: folder)
        #expect(FileManager.default.fileExists(atPath: folder + "/tether.sqlite"))
        let tables = try database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb%' ORDER BY name")
        }
        #expect(tables == ["events", "runs", "store_entries"])
        let mode = try database.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        // Opening again migrates nothing and keeps the data.
        try database.pool.write { db in
            try db.execute(sql: "INSERT INTO store_entries VALUES ('n', 'k', 'v', 0)")
        }
        let again = try SQLiteDatabase.open(directory: folder)
        #expect(try again.pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM store_entries") } == "v")
    }

    @Test func aDatabaseFromANewerTetherIsRefusedAndLeftUntouched() throws {
        let folder = temporaryFolder()
        let database = try SQLiteDatabase.open(directory: folder)
        try database.pool.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        try database.pool.close()
        let path = folder + "/tether.sqlite"
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect {
            _ = try SQLiteDatabase.open(directory: folder)
        } throws: { error in
            (error as? StorageSetupError)?.description.contains("written by a newer version of Tether") == true
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func aFileThatIsNotADatabaseIsRefusedAndLeftUntouched() throws {
        let folder = temporaryFolder()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/tether.sqlite"
        let garbage = Data(String(repeating: "not a database, just notes\n", count: 200).utf8)
        try garbage.write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SQLiteDatabase.open(directory: folder)
        } throws: { error in
            let message = (error as? StorageSetupError)?.description ?? ""
            return message.contains("cannot be read") && message.contains("left untouched")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }
}
