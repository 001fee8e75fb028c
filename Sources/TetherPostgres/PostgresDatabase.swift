import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// One PostgreSQL database (`TETHER_DATABASE_URL=postgres://…`) through postgres-nio's
/// connection pool, migrated when opened.
///
/// The pool runs from ``open(url:logger:)`` on, so that start-up can migrate and recover
/// before the service group runs; as a `Service` it closes the pool at shutdown. Put it in
/// the group before the run supervisor: services shut down in reverse order, so the
/// database outlives the runs that write to it.
public final class PostgresDatabase: Service, Sendable {
    public let client: PostgresClient
    let logger: Logger
    private let pool: Task<Void, Never>
    private let fenced = Atomic<Bool>(false)

    private init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.pool = Task { await client.run() }
    }

    /// Connects, and brings the schema up to date (several instances starting at once take
    /// turns: the migrations run under an advisory lock).
    public static func open(url: String, logger: Logger = Logger(label: "tether.postgres")) async throws -> PostgresDatabase {
        let parsed = try PostgresURL(url)
        try await checkReachable(parsed, logger: logger)
        let database = PostgresDatabase(
            client: PostgresClient(configuration: parsed.client, backgroundLogger: logger),
            logger: logger
        )
        do {
            try await PostgresSchema.migrate(database.client, logger: logger)
        } catch {
            database.close()
            throw error
        }
        return database
    }

    /// One connection, opened and closed, so that a database out of reach or refusing the
    /// login stops start-up within the connect timeout, with the reason: the pool would
    /// retry until its circuit breaker trips, a minute later, without it.
    static func checkReachable(_ url: PostgresURL, logger: Logger) async throws {
        do {
            let opened = try await PostgresConnection.connect(configuration: try url.connection(), id: 0, logger: logger)
            try await opened.close()
        } catch {
            throw PostgresStoreError.unreachable(String(reflecting: error))
        }
    }

    /// Closes the pool: queries after it fail.
    public func close() {
        pool.cancel()
    }

    public func run() async throws {
        try? await gracefulShutdown()
        close()
    }

    /// Refuses every write from now on: the instance lost its lease, and another has taken
    /// over its runs, so nothing it still does may land.
    public func fence() {
        fenced.store(true, ordering: .sequentiallyConsistent)
    }

    /// - Throws: ``PostgresStoreError/fenced`` after ``fence()``.
    func checkWritable() throws {
        if fenced.load(ordering: .sequentiallyConsistent) { throw PostgresStoreError.fenced }
    }

    /// Whether the database answers a query within `timeout`.
    public func ping(timeout: Duration = .seconds(2)) async -> Bool {
        let client = self.client
        return await withTaskGroup(of: Bool?.self) { group in
            group.addTask {
                guard let rows = try? await client.query("SELECT 1") else { return false }
                do {
                    for try await _ in rows {}
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next().flatMap { $0 } ?? false
        }
    }
}

/// Reads a `postgres://user:password@host:port/database?sslmode=…` URL.
struct PostgresURL {
    enum Encryption {
        case disable
        case prefer(TLSConfiguration)
        case require(TLSConfiguration)
    }

    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String?
    var encryption: Encryption

    init(_ text: String) throws {
        guard let url = URLComponents(string: text), url.scheme == "postgres" || url.scheme == "postgresql",
            let host = url.host, !host.isEmpty
        else {
            throw PostgresStoreError.badURL("expected postgres://user:password@host:port/database, got \(Self.redacted(text))")
        }
        let mode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        // As libpq: `prefer` and `require` encrypt without checking the server's certificate
        // (Debian's clusters come with a self-signed one), `verify-ca` checks it against the
        // system's roots, `verify-full` the host name too.
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        var caOnly = TLSConfiguration.makeClientConfiguration()
        caOnly.certificateVerification = .noHostnameVerification
        switch mode {
        case "disable": encryption = .disable
        case "prefer", "allow": encryption = .prefer(unverified)
        case "require": encryption = .require(unverified)
        case "verify-ca": encryption = .require(caOnly)
        case "verify-full": encryption = .require(.makeClientConfiguration())
        default: throw PostgresStoreError.badURL("sslmode must be disable, prefer, require, verify-ca or verify-full, not \(mode)")
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        self.host = host
        self.port = url.port ?? 5432
        self.username = url.user ?? "postgres"
        self.password = url.password
        self.database = database.isEmpty ? nil : database
    }

    /// The pool's configuration. postgres-nio's pool keeps at most 20 connections (its
    /// default): three instances stay well within PostgreSQL's default `max_connections` of 100.
    var client: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch encryption {
        case .disable: tls = .disable
        case .prefer(let settings): tls = .prefer(settings)
        case .require(let settings): tls = .require(settings)
        }
        return PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }

    /// The configuration of one connection outside the pool.
    func connection() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch encryption {
        case .disable: tls = .disable
        case .prefer(let settings): tls = .prefer(try NIOSSLContext(configuration: settings))
        case .require(let settings): tls = .require(try NIOSSLContext(configuration: settings))
        }
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tls
        )
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// The URL without its password, for messages.
    static func redacted(_ text: String) -> String {
        guard var url = URLComponents(string: text), url.password != nil else { return text }
        url.password = "***"
        return url.string ?? "postgres://…"
    }
}

/// Errors of the PostgreSQL stores.
public enum PostgresStoreError: Error, Sendable, CustomStringConvertible {
    case badURL(String)
    case unknownRun(String)
    case corrupt(String)
    /// The instance lost its lease: it writes nothing more.
    case fenced
    /// Events for a tree whose root has ended.
    case treeEnded(String)
    /// The database cannot be reached, or refuses the login.
    case unreachable(String)

    public var description: String {
        switch self {
        case .badURL(let reason): "TETHER_DATABASE_URL cannot be used: \(reason)"
        case .unknownRun(let id): "no stored run in flight has the id \(id)"
        case .unreachable(let reason): "could not connect: \(reason)"
        case .treeEnded(let root): "the run tree \(root) has ended: its log takes no more events"
        case .corrupt(let reason): "the database holds a value Tether cannot read: \(reason)"
        case .fenced: "this instance lost its lease on the database and writes nothing more"
        }
    }
}

extension PostgresClient {
    /// Runs a statement to its end: an error (a duplicate key, say) may come with the rows,
    /// so they are read even when none is wanted.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}

extension PostgresConnection {
    /// Runs a statement to its end (see `PostgresClient.run`).
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}
