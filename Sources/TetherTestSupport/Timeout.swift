/// The fail-safe of a test that waits on an event: `operation`'s result, or
/// ``TimedOut`` once `seconds` have passed. Never a way to synchronise.
public func withTimeout<T: Sendable>(
    seconds: Double = 60,
    _ what: String = "operation",
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            throw TimedOut(what: what, seconds: seconds)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A test's fail-safe expired.
public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var seconds: Double
    public var description: String { "\(what) did not happen within \(seconds) s" }
}
