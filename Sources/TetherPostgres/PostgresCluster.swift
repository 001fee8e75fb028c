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
/// - **Leases.** Each instance holds a lease in `instances` (``InstanceLease``). The others
///   mark the runs of an instance whose lease expired `interrupted`, within a period of the
///   expiry. An instance that loses its own lease (a long pause, the database out of reach)
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
    /// The answers in flight of trees executed here that others watch, and of trees executed
    /// elsewhere that readers here watch.
    let publisher: AnswerPublisher
    let watches: AnswerWatches
    let instanceLease: InstanceLease
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
        self.instanceLease = InstanceLease(database: database, instanceID: instanceID, lease: lease, logger: logger)
        (stopWakeups, stopWakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let client = database.client
        publisher = AnswerPublisher { payload in await Self.notify(payload, client: client, logger: logger) }
        watches = AnswerWatches { root, resend in
            await Self.notify("watch \(root.rawValue)" + (resend ? " resend" : ""), client: client, logger: logger)
        }
    }

    /// Sends `payload` on the cluster's channel; a notice that cannot be sent is dropped (the
    /// answers in flight are a view, never a record).
    static func notify(_ payload: String, client: PostgresClient, logger: Logger) async {
        do {
            try await client.run("SELECT pg_notify(\(PostgresRunStore.channel), \(payload))", logger: logger)
        } catch {
            logger.debug("a notice could not be sent", metadata: ["error": "\(error)"])
        }
    }

    // MARK: What runs and readers ask

    public func requestStop(of id: RunID, executedBy executor: String, force: Bool) async throws {
        try database.checkWritable()
        try await client.run(
            """
            WITH requested AS (
                INSERT INTO stop_requests (run_id, instance, force, requested_at)
                VALUES (\(id.rawValue), \(executor), \(force), \(Date().timeIntervalSinceReferenceDate))
                ON CONFLICT (run_id) DO UPDATE SET force = stop_requests.force OR excluded.force
                RETURNING instance, run_id, force)
            SELECT pg_notify(\(PostgresRunStore.channel), 'stop ' || instance || ' ' || run_id || ' ' || force::text) FROM requested
            """,
            logger: logger
        )
    }

    public func waitForEvents(ofTree root: RunID, after seq: Int) async {
        await trees.wait(root: root, after: seq, atMost: period)
    }

    public func answerUpdates(ofTree root: RunID, every interval: Duration) -> AsyncStream<[AnswerInFlight]> {
        watches.updates(ofTree: root, every: interval)
    }

    public func answersInFlight(ofTree root: RunID) -> [AnswerInFlight] {
        watches.snapshot(ofTree: root)
    }

    // MARK: Serving

    /// Takes this instance's lease (again, after a restart with the same id). Call it before
    /// start-up recovery and before any run starts.
    /// - Throws: ``InstanceInUse`` when a live process already has this id.
    public func register() async throws {
        try await instanceLease.acquire()
    }

    /// Listens, takes in stops for `supervisor`, watches the lease and marks the runs of
    /// expired instances, until cancelled.
    /// - Throws: ``LeaseLost`` when this instance's lease is gone.
    public func run(supervisor: RunSupervisor) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen(for: supervisor) }
            group.addTask { await self.takeInStops(for: supervisor) }
            group.addTask { try await self.instanceLease.watch() }
            group.addTask { await self.sweep(for: supervisor) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Gives the lease up at shutdown, so the others need not wait for it to expire.
    public func resign() async {
        await instanceLease.release()
    }

    /// One connection listening on ``PostgresRunStore/channel``, reconnected whenever it
    /// drops; each time it listens again, everything that may have been signalled meanwhile
    /// is re-read.
    private func listen(for supervisor: RunSupervisor) async {
        var pause = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresRunStore.channel) { notifications in
                        pause = .milliseconds(50)
                        trees.wakeAll()
                        stopWakeup.yield()
                        for try await notification in notifications { handle(notification.payload, for: supervisor) }
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

    /// `stop INSTANCE RUN FORCE` is taken in at once (the round of pending stops would find
    /// it too, a read later); `tree ROOT [SEQ]` wakes the readers of that tree; `watch ROOT
    /// [resend]` and `answer {…}` carry the answers in flight (``AnswerNotice``).
    private func handle(_ payload: String, for supervisor: RunSupervisor) {
        let parts = payload.split(separator: " ")
        switch parts.first {
        case "stop" where parts.count == 4 && parts[1] == instanceID:
            let (id, force) = (String(parts[2]), parts[3] == "true")
            Task { try? await self.takeIn(stopOf: id, force: force, for: supervisor) }
        case "tree" where parts.count >= 2:
            trees.signal(root: RunID(stored: String(parts[1])), seq: parts.count > 2 ? Int(parts[2]) : nil)
        case "watch" where parts.count >= 2:
            publisher.watch(RunID(stored: String(parts[1])), resend: parts.count > 2 && parts[2] == "resend", reads: supervisor.reads)
        case "answer":
            if let notice = AnswerNotice(json: payload.dropFirst("answer ".count)) { watches.receive(notice) }
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
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (id, force) in pending {
                group.addTask { try await self.takeIn(stopOf: id, force: force, for: supervisor) }
            }
            try await group.waitForAll()
        }
    }

    /// Stops run `id` here, then deletes its request. Whatever the outcome (stopping, or
    /// already ended), the request is handled; a force asked for meanwhile keeps its row,
    /// for the next round. Taking a stop in twice is harmless: a stop is idempotent.
    private func takeIn(stopOf id: String, force: Bool, for supervisor: RunSupervisor) async throws {
        _ = try? await supervisor.stop(RunID(stored: id), force: force)
        try await client.run(
            "DELETE FROM stop_requests WHERE run_id = \(id) AND instance = \(instanceID) AND force = \(force)",
            logger: logger
        )
    }

    /// Every period: a round of pending stops, and the runs of expired instances marked (and
    /// resumed here, when the settings say so: the instance that marks them resumes them).
    private func sweep(for supervisor: RunSupervisor) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            stopWakeup.yield()
            do {
                let interrupted = try await markRunsOfExpiredInstances()
                if !interrupted.isEmpty { await supervisor.resumeInterrupted(interrupted) }
            } catch {
                if !Task.isCancelled { logger.warning("could not look for expired instances", metadata: ["error": "\(String(reflecting: error))"]) }
            }
        }
    }

    /// Marks the runs in flight of each instance whose lease expired `interrupted`, each with
    /// its final event, in one transaction per instance that also deletes its lease: of
    /// instances sweeping at once, one does it. Returns the final records of the runs it
    /// marked `interrupted`.
    @discardableResult
    func markRunsOfExpiredInstances() async throws -> [RunRecord] {
        let rows = try await client.query(
            "SELECT id FROM instances WHERE lease_until < clock_timestamp() AND id <> \(instanceID)",
            logger: logger
        )
        var expired: [String] = []
        for try await id in rows.decode(String.self) { expired.append(id) }
        // Runs in flight of an instance with no lease at all: it gave its lease up or lost it
        // with runs still recorded in flight (a final write that failed, a run inserted
        // after the lease was gone).
        let orphaned = try await client.query(
            """
            SELECT DISTINCT instance FROM runs AS run WHERE status IN ('running', 'stopping') AND instance IS NOT NULL
            AND instance <> \(instanceID) AND NOT EXISTS (SELECT 1 FROM instances WHERE id = run.instance)
            """,
            logger: logger
        )
        var orphans: [String] = []
        for try await id in orphaned.decode(String.self) { orphans.append(id) }
        var marked: [RunRecord] = []
        for instance in expired + orphans {
            let expiredLease = expired.contains(instance)
            // One instance's failure does not lose what the others' transactions marked:
            // those are resumed all the same.
            do {
                marked += try await client.withTransaction(logger: logger) { connection in
                    var claimed = false
                    if expiredLease {
                        // Of instances sweeping at once, the one whose delete goes through.
                        for try await _ in try await connection.query(
                            "DELETE FROM instances WHERE id = \(instance) AND lease_until < clock_timestamp() RETURNING id",
                            logger: logger
                        ) {
                            claimed = true
                        }
                    } else {
                        // No lease, and no live process holding the instance's lock (the key
                        // ``InstanceLease`` holds): nobody executes these runs.
                        for try await free in try await connection.query(
                            """
                            SELECT pg_try_advisory_xact_lock(hashtext(\("tether instance \(instance)")))
                            AND NOT EXISTS (SELECT 1 FROM instances WHERE id = \(instance))
                            """,
                            logger: logger
                        ).decode(Bool.self) {
                            claimed = free
                        }
                    }
                    guard claimed else { return [] }
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
                    var interrupted: [RunRecord] = []
                    for record in records {
                        guard let (final, event) = RunRecovery.interruption(of: record, at: now, cause: .leaseExpired(instance: instance)) else {
                            continue
                        }
                        // A run that logged its end but died before its record: its log says
                        // how it ended, and the record follows it.
                        let ended = try await connection.query(
                            """
                            SELECT data FROM events WHERE root_run_id = \(final.rootRunID.rawValue) AND run_id = \(final.id.rawValue)
                            AND kind = \(EventKind.runFinished.rawValue) ORDER BY seq DESC LIMIT 1
                            """,
                            logger: logger
                        )
                        var logged: RunStatus?
                        for try await data in ended.decode(String.self) {
                            logged = (try? StoredJSON.value(data))?["status"]?.stringValue.flatMap(RunStatus.init(rawValue:))
                        }
                        if logged == nil {
                            // The event first: the log takes events while its root is in flight.
                            let last = try await connection.query(
                                "SELECT coalesce(max(seq), 0) FROM events WHERE root_run_id = \(final.rootRunID.rawValue)",
                                logger: logger
                            )
                            var seq = 0
                            for try await value in last.decode(Int.self) { seq = value }
                            try await connection.run(PostgresRunStore.appending([event(seq + 1)], tree: final.rootRunID), logger: logger)
                        }
                        try await connection.run(
                            """
                            UPDATE runs SET status = \((logged ?? final.status).rawValue), finished_at = \(now.timeIntervalSinceReferenceDate),
                            error = \(logged == nil ? final.error : record.error) WHERE id = \(final.id.rawValue)
                            """,
                            logger: logger
                        )
                        if logged == nil { interrupted.append(final) }
                    }
                    try await connection.run("DELETE FROM stop_requests WHERE instance = \(instance)", logger: logger)
                    if !records.isEmpty {
                        logger.warning(
                            "marked the runs of an instance whose lease expired interrupted",
                            metadata: ["instance": "\(instance)", "runs": "\(records.count)"]
                        )
                    }
                    return interrupted
                }
            } catch {
                logger.warning(
                    "could not mark the runs of an expired instance",
                    metadata: ["instance": "\(instance)", "error": "\(String(reflecting: error))"]
                )
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
