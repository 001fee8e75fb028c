import TetherCore

/// Returns once either latch is open (or the calling task is cancelled).
func firstOf(_ first: Latch, _ second: Latch) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await first.wait() }
        group.addTask { await second.wait() }
        await group.next()
        group.cancelAll()
    }
}

/// Runs `operation` in a task of its own and waits for it at most `limit`; returns whether
/// it ended in time. The operation is not cancelled when time runs out: it is left to end
/// by itself (code that ignores cancellation would not stop anyway).
func within(_ limit: Duration, _ operation: @escaping @Sendable () async -> Void) async -> Bool {
    let done = Latch()
    Task {
        await operation()
        done.open()
    }
    return await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            await done.wait()
            return true
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first || done.isOpen
    }
}
