import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import TetherCore
import TetherRuntime

/// Several `tether serve` instances on one PostgreSQL database as one Tether (DESIGN §7).
///
/// - **Stops.** A stop of a run another instance executes is written to `stop_requests`
///   (the source of truth), then signalled with `NOTIFY`. The executing instance takes in its
///   pending stops on that signal, every ``period`` whatever the signals, and after every
///   reconnect of its listener: a signal lost while a connection was down delays a stop by at
///   most the period, never drops it.
/// - **Live tails.** Every commit of events notifies the tree's new last `seq`; a reader
///   following a tree another instance executes waits for that word (or the period) and reads
///   the store (``RunCluster/waitForEvents(ofTree:after:)``).
/// - **Leases.** Each instance renews its lease in `instances` every third of
///   ``lease``. The others mark the runs of an instance whose lease expired `interrupted`,
///   within a period of the expiry. An instance that finds its own lease gone (a long pause)
///   refuses every write from then on and ends with ``LeaseLost``, rather than race the
///   instance that took over its runs.
public final class PostgresCluster: RunCluster {
    public let instanceID: String
    let database: PostgresDatabase
    /// `TETHER_LEASE_SECONDS`.
    public let lease: Duration
    /// How often pending stops are re-read and expired leases looked for.
    public let period: Duration
    let logger: Logger
    let trees = TreeSignals()
    private let stopWakeups: AsyncStream<Void>
    private let stopWakeup: AsyncStream<Void>.Continuation

    var client: PostgresClient { database.client }

    public init(
        database: PostgresDatabase,
        instanceID: String,
        lease: Duration = .seconds(10),
        period: Duration = .seconds(1),
        logger: Logger = Logger(label: "tether.cluster")
    ) {
        self.database = database
        self.instanceID = instanceID
        self.lease = lease
        self.period = period
        self.logger = logger
        (stopWakeups, stopWakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    var leaseSeconds: Double { Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18 }

    // MARK: What runs and readers ask

    public func requestStop(of id: RunID, executedBy executor: String, force: Bool) async throws {
        try database.checkWritable()
        try await client.run(
            """
            WITH requested AS (
                INSERT INTO stop_requests (run_id, instance, force, requested_at)
                VALUES (\(id.rawValue), \(executor), \(force), \(Date().timeIntervalSinceReferenceDate))
                ON CONFLICT (run_id) DO UPDATE SET force = stop_requests.force OR excluded.force
                RETURNING instance)
            SELECT pg_notify(\(PostgresRunStore.channel), 'stop ' || instance) FROM requested
            """,
            logger: logger
        )
    }

    public func waitForEvents(ofTree root: RunID, after seq: Int) async {
        await trees.wait(root: root, after: seq, atMost: period)
    }

    // MARK: Serving

    /// Takes this instance's lease (again, after a restart with the same id). Call it before
    /// start-up recovery and before any run starts.
    public func register() async throws {
        try await client.run(
            """
            INSERT INTO instances (id, lease_until, started_at)
            VALUES (\(instanceID), clock_timestamp() + \(leaseSeconds) * interval '1 second', clock_timestamp())
            ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until, started_at = excluded.started_at
            """,
            logger: logger
        )
    }

    /// Listens, takes in stops for `supervisor`, renews the lease and marks the runs of
    /// expired instances, until cancelled.
    /// - Throws: ``LeaseLost`` when this instance's lease is gone.
    public func run(supervisor: RunSupervisor) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen() }
            group.addTask { await self.takeInStops(for: supervisor) }
            group.addTask { try await self.keepLease() }
            group.addTask { await self.sweep() }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Stops the instance ends its lease with, so the others need not wait for it to expire.
    public func resign() async {
        _ = try? await client.query("DELETE FROM instances WHERE id = \(instanceID)", logger: logger)
    }

    /// One connection listening on ``PostgresRunStore/channel``, reconnected whenever it
    /// drops; each time it listens again, everything that may have been signalled meanwhile
    /// is re-read.
    private func listen() async {
        var pause = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresRunStore.channel) { notifications in
                        pause = .milliseconds(50)
                        trees.wakeAll()
                        stopWakeup.yield()
                        for try await notification in notifications { handle(notification.payload) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("the notification listener lost its connection; listening again", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(1))
        }
    }

    private func handle(_ payload: String) {
        let parts = payload.split(separator: " ")
        switch parts.first {
        case "stop" where parts.count == 2 && parts[1] == instanceID:
            stopWakeup.yield()
        case "tree" where parts.count >= 2:
            trees.signal(root: RunID(stored: String(parts[1])), seq: parts.count > 2 ? Int(parts[2]) : nil)
        default:
            break
        }
    }

    /// Takes in the pending stops of this instance's runs each time there may be some.
    private func takeInStops(for supervisor: RunSupervisor) async {
        for await _ in stopWakeups {
            do {
                try await takeInPendingStops(for: supervisor)
            } catch {
                logger.warning("could not read the pending stops", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    func takeInPendingStops(for supervisor: RunSupervisor) async throws {
        let rows = try await client.query(
            "SELECT run_id, force FROM stop_requests WHERE instance = \(instanceID) ORDER BY requested_at",
            logger: logger
        )
        var pending: [(String, Bool)] = []
        for try await row in rows.decode((String, Bool).self) { pending.append(row) }
        for (id, force) in pending {
            // Whatever the outcome (stopping, or already ended), the request is handled.
            _ = try? await supervisor.stop(RunID(stored: id), force: force)
            // A force asked for meanwhile keeps its row, for the next round.
            try await client.run(
                "DELETE FROM stop_requests WHERE run_id = \(id) AND instance = \(instanceID) AND force = \(force)",
                logger: logger
            )
        }
    }

    /// Renews the lease every third of it; a lease found gone, or not renewed for a whole
    /// lease (the database out of reach), is lost.
    private func keepLease() async throws {
        let clock = ContinuousClock()
        var renewed = clock.now
        while !Task.isCancelled {
            do { try await Task.sleep(for: lease / 3) } catch { return }
            do {
                let rows = try await client.query(
                    """
                    UPDATE instances SET lease_until = clock_timestamp() + \(leaseSeconds) * interval '1 second'
                    WHERE id = \(instanceID) AND lease_until > clock_timestamp() RETURNING id
                    """,
                    logger: logger
                )
                var held = false
                for try await _ in rows { held = true }
                if held {
                    renewed = clock.now
                    continue
                }
            } catch {
                logger.warning("could not renew the lease", metadata: ["error": "\(String(reflecting: error))"])
                if clock.now - renewed < lease { continue }
            }
            database.fence()
            logger.critical(
                "this instance lost its lease: another instance takes over its runs, and it stops",
                metadata: ["instance": "\(instanceID)"]
            )
            throw LeaseLost(instance: instanceID)
        }
    }

    /// Every period: a round of pending stops, and the runs of expired instances marked.
    private func sweep() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            stopWakeup.yield()
            do {
                try await markRunsOfExpiredInstances()
            } catch {
                if !Task.isCancelled { logger.warning("could not look for expired instances", metadata: ["error": "\(String(reflecting: error))"]) }
            }
        }
    }

    /// Marks the runs in flight of each instance whose lease expired `interrupted`, each with
    /// its final event, in one transaction per instance that also deletes its lease: of
    /// instances sweeping at once, one does it. Returns how many runs were marked.
    @discardableResult
    func markRunsOfExpiredInstances() async throws -> Int {
        let rows = try await client.query(
            "SELECT id FROM instances WHERE lease_until < clock_timestamp() AND id <> \(instanceID)",
            logger: logger
        )
        var expired: [String] = []
        for try await id in rows.decode(String.self) { expired.append(id) }
        var marked = 0
        for instance in expired {
            marked += try await client.withTransaction(logger: logger) { connection in
                let claimed = try await connection.query(
                    "DELETE FROM instances WHERE id = \(instance) AND lease_until < clock_timestamp() RETURNING id",
                    logger: logger
                )
                var mine = false
                for try await _ in claimed { mine = true }
                guard mine else { return 0 }
                let leftovers = try await connection.query(
                    """
                    SELECT \(unescaped: PostgresRunStore.columns) FROM runs
                    WHERE instance = \(instance) AND status IN ('running', 'stopping') ORDER BY depth DESC, created_at FOR UPDATE
                    """,
                    logger: logger
                )
                var records: [RunRecord] = []
                for try await row in leftovers.decode(StoredRun.self) {
                    if let record = try? PostgresRunStore.record(row) { records.append(record) }
                }
                let now = Date()
                for record in records {
                    guard let (final, event) = RunRecovery.interruption(of: record, at: now, cause: .leaseExpired(instance: instance)) else {
                        continue
                    }
                    // The event first: the log takes events while its root is in flight.
                    let last = try await connection.query(
                        "SELECT coalesce(max(seq), 0) FROM events WHERE root_run_id = \(final.rootRunID.rawValue)",
                        logger: logger
                    )
                    var seq = 0
                    for try await value in last.decode(Int.self) { seq = value }
                    try await connection.run(PostgresRunStore.appending([event(seq + 1)], tree: final.rootRunID), logger: logger)
                    try await connection.run(
                        """
                        UPDATE runs SET status = \(final.status.rawValue), finished_at = \(now.timeIntervalSinceReferenceDate),
                        error = \(final.error) WHERE id = \(final.id.rawValue)
                        """,
                        logger: logger
                    )
                }
                try await connection.run("DELETE FROM stop_requests WHERE instance = \(instance)", logger: logger)
                if !records.isEmpty {
                    logger.warning(
                        "marked the runs of an instance whose lease expired interrupted",
                        metadata: ["instance": "\(instance)", "runs": "\(records.count)"]
                    )
                }
                return records.count
            }
        }
        return marked
    }
}

/// This instance's lease on the database is gone: another instance may have taken over its
/// runs, so it stops.
public struct LeaseLost: Error, CustomStringConvertible {
    public let instance: String
    public var description: String { "instance \(instance) lost its lease on the database" }
}

/// Runs the cluster's work for a supervisor as a service, from start-up to shutdown, when it
/// gives up its lease.
public struct PostgresClusterService: Service {
    let cluster: PostgresCluster
    let supervisor: RunSupervisor

    public init(cluster: PostgresCluster, supervisor: RunSupervisor) {
        self.cluster = cluster
        self.supervisor = supervisor
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await cluster.run(supervisor: supervisor)
        }
        await cluster.resign()
    }
}
