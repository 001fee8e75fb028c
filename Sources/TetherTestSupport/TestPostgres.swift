import Foundation
import Logging
import PostgresNIO

/// The throwaway PostgreSQL cluster of the tests (`scripts/with-postgres` starts it and sets
/// `TETHER_TEST_DATABASE_URL`); each test gets a database of its own.
public enum TestPostgres {
    /// The cluster's URL, or `nil` when the tests run without one.
    public static var clusterURL: String? {
        ProcessInfo.processInfo.environment["TETHER_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Whether the PostgreSQL tests run: with a cluster, or when one is required
    /// (`TETHER_REQUIRE_POSTGRES=1`, as the README's test command sets), so that they fail
    /// rather than pass unseen.
    public static var isAvailable: Bool {
        clusterURL != nil || ProcessInfo.processInfo.environment["TETHER_REQUIRE_POSTGRES"] == "1"
    }

    /// Creates an empty database on the cluster and returns its URL.
    public static func freshDatabase() async throws -> String {
        guard let clusterURL, var url = URLComponents(string: clusterURL) else {
            throw TestSetupError("TETHER_TEST_DATABASE_URL is not set: run the tests through scripts/with-postgres")
        }
        let name = "tether_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        try await execute("CREATE DATABASE \(name)", on: clusterURL)
        url.path = "/\(name)"
        return url.string!
    }

    /// Runs one statement on the database at `databaseURL` (a test's, or the cluster's) and
    /// returns how many rows it answered.
    @discardableResult
    public static func execute(_ sql: String, on databaseURL: String) async throws -> Int {
        guard let url = URLComponents(string: databaseURL), let host = url.host else {
            throw TestSetupError("not a database URL: \(databaseURL)")
        }
        let logger = Logger(label: "test-postgres") { _ in SwiftLogNoOpLogHandler() }
        let database = url.path.hasPrefix("/") && url.path.count > 1 ? String(url.path.dropFirst()) : "postgres"
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: host,
                port: url.port ?? 5432,
                username: url.user ?? "postgres",
                password: url.password,
                database: database,
                tls: .disable
            ),
            id: 1,
            logger: logger
        )
        do {
            var rows = 0
            for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) { rows += 1 }
            try await connection.close()
            return rows
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
