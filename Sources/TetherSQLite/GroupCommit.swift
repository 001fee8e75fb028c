import GRDB
import Synchronization

/// Writes that arrive while another is committing commit together, in one transaction
/// (group commit). SQLite has one writer, and a transaction's cost is mostly its commit, so
/// under thousands of runs starting, logging and ending at once the store pays one commit
/// per batch instead of one per write. A lone write still goes at once.
///
/// Each write runs in a savepoint of the batch's transaction: one that throws is rolled back
/// and answered with its error, and the others are unaffected. Every caller is answered
/// only once the batch has committed (durably, as before), or with the commit's error.
final class GroupCommit: Sendable {
    private let pool: DatabasePool

    private struct Job: Sendable {
        /// Runs the write in the batch's transaction; returns how to answer its caller once
        /// the transaction has committed.
        let perform: @Sendable (Database) -> @Sendable () -> Void
        /// Answers the caller when the batch's transaction failed.
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var queue: [Job] = []
        var isWriting = false
    }
    private let state = Mutex(State())

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `work` in the next batch and returns its result once that batch has committed.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                perform: { db in
                    let outcome = Result<T, any Error> {
                        var value: T?
                        try db.inSavepoint {
                            value = try work(db)
                            return .commit
                        }
                        return value!
                    }
                    return { continuation.resume(with: outcome) }
                },
                fail: { continuation.resume(throwing: $0) }
            )
            let startsWriter = state.withLock { state in
                state.queue.append(job)
                guard !state.isWriting else { return false }
                state.isWriting = true
                return true
            }
            if startsWriter { Task { await self.drain() } }
        }
    }

    /// Commits batches until no write is waiting.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Job]? in
                guard !state.queue.isEmpty else {
                    state.isWriting = false
                    return nil
                }
                defer { state.queue = [] }
                return state.queue
            }
            guard let batch else { return }
            do {
                let answers: [@Sendable () -> Void] = try await pool.write { db in batch.map { $0.perform(db) } }
                for answer in answers { answer() }
            } catch {
                for job in batch { job.fail(error) }
            }
        }
    }
}
