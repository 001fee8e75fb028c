import Logging
import PostgresNIO
import Synchronization

/// This instance's lease on the shared database, held from start-up to shutdown.
///
/// The connection that renews the lease also holds a session advisory lock named after the
/// instance's id, for as long as the process lives: a second live process with the same id
/// is refused at start-up (a rolling deploy reusing ids), while one restarted after a crash
/// gets the lock at once, its predecessor's session being gone.
///
/// The lease is renewed every third of it. It is lost when a renewal finds it expired or
/// taken over, or when no renewal has succeeded for 80% of it (the database out of reach,
/// a long pause): then every write is refused (``PostgresDatabase/fence()``) and
/// ``watch()`` throws ``LeaseLost``, before the others can have taken the instance's runs.
final class InstanceLease: Sendable {
    let database: PostgresDatabase
    let instanceID: String
    let lease: Duration
    let logger: Logger
    private let holder = Mutex<Task<Void, Never>?>(nil)
    private let state = Mutex(State())

    private struct State {
        /// When the last renewal that succeeded was sent.
        var renewed: ContinuousClock.Instant?
        var lost = false
    }

    private let clock = ContinuousClock()
    var client: PostgresClient { database.client }
    var seconds: Double { Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18 }
    /// The advisory lock's name; the sweeper tries the same to know no process holds an id.
    var lockKey: String { "tether instance \(instanceID)" }

    init(database: PostgresDatabase, instanceID: String, lease: Duration, logger: Logger) {
        self.database = database
        self.instanceID = instanceID
        self.lease = lease
        self.logger = logger
    }

    /// Takes the lease and returns once it is held.
    /// - Throws: ``InstanceInUse``, or the database's error.
    func acquire() async throws {
        let (ready, continuation) = AsyncStream.makeStream(of: Result<Void, any Error>.self, bufferingPolicy: .bufferingNewest(1))
        let task = Task { await self.hold(reporting: continuation) }
        holder.withLock { $0 = task }
        for await result in ready { return try result.get() }
        throw CancellationError()
    }

    /// Returns when cancelled; throws ``LeaseLost`` once the lease is lost.
    func watch() async throws {
        while true {
            do { try await Task.sleep(for: lease / 10) } catch { return }
            let (renewed, lost) = state.withLock { ($0.renewed, $0.lost) }
            if lost || renewed.map({ clock.now - $0 >= lease * 0.8 }) == true {
                database.fence()
                logger.critical(
                    "this instance lost its lease: another instance takes over its runs, and it stops",
                    metadata: ["instance": "\(instanceID)"]
                )
                throw LeaseLost(instance: instanceID)
            }
        }
    }

    /// Gives the lease up: renewals end, the lock is released and the row deleted, so the
    /// others need not wait for it to expire.
    func release() async {
        let task = holder.withLock { $0 }
        task?.cancel()
        await task?.value
        _ = try? await client.query("DELETE FROM instances WHERE id = \(instanceID)", logger: logger)
    }

    /// Holds the lock and renews the lease until cancelled or lost; the first outcome is
    /// reported to `ready`.
    private func hold(reporting ready: AsyncStream<Result<Void, any Error>>.Continuation) async {
        var pause = Duration.milliseconds(100)
        while !Task.isCancelled, !state.withLock({ $0.lost }) {
            do {
                try await client.withConnection { connection in
                    try await holdOn(connection, reporting: ready)
                }
            } catch is CancellationError {
                break
            } catch {
                let held = state.withLock { $0.renewed != nil }
                if !held {
                    ready.yield(.failure(error))
                    ready.finish()
                    return
                }
                if error is InstanceInUse || error is LeaseLost {
                    state.withLock { $0.lost = true }
                    return
                }
                logger.warning("could not renew the lease; trying again", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, lease / 10)
            }
        }
        ready.finish()
    }

    private func holdOn(_ connection: PostgresConnection, reporting ready: AsyncStream<Result<Void, any Error>>.Continuation) async throws {
        var locked = false
        for try await value in try await connection.query("SELECT pg_try_advisory_lock(hashtext(\(lockKey)))", logger: logger)
            .decode(Bool.self)
        {
            locked = value
        }
        guard locked else { throw InstanceInUse(instance: instanceID) }
        do {
            if state.withLock({ $0.renewed == nil }) {
                let sent = clock.now
                try await connection.run(
                    """
                    INSERT INTO instances (id, lease_until, started_at)
                    VALUES (\(instanceID), clock_timestamp() + \(seconds) * interval '1 second', clock_timestamp())
                    ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until, started_at = excluded.started_at
                    """,
                    logger: logger
                )
                state.withLock { $0.renewed = sent }
                ready.yield(.success(()))
            }
            while true {
                try await Task.sleep(for: lease / 3)
                let sent = clock.now
                var renewed = false
                for try await _ in try await connection.query(
                    """
                    UPDATE instances SET lease_until = clock_timestamp() + \(seconds) * interval '1 second'
                    WHERE id = \(instanceID) AND lease_until > clock_timestamp() RETURNING id
                    """,
                    logger: logger
                ) {
                    renewed = true
                }
                guard renewed else { throw LeaseLost(instance: instanceID) }
                state.withLock { $0.renewed = sent }
            }
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(hashtext(\(lockKey)))", logger: logger)
            throw error
        }
    }
}

/// Another live process already runs with this instance id.
public struct InstanceInUse: Error, CustomStringConvertible {
    public let instance: String
    public var description: String {
        "another running process already uses the instance id \(instance) on this database (TETHER_INSTANCE_ID must differ per instance)"
    }
}
