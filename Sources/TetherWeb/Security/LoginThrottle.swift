import Synchronization

/// What the login cookie holds: not the token itself (no response ever carries it) but a
/// random value made at start-up that stands for it, checked in constant time. Signing in
/// again is needed after a restart.
struct LoginSession: Sendable {
    let token: String
    let cookieValue: String

    init(token: String) {
        self.token = token
        var generator = SystemRandomNumberGenerator()
        cookieValue = (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 0x0F, radix: 16)
        }.joined()
    }
}

/// Rate-limits the login form per client, so a server's token cannot be guessed by brute
/// force: after ``limit`` wrong tokens within ``window`` a client is refused (`429`, with
/// `Retry-After`) until the oldest of them is older than the window — even with the right
/// token. A right token clears the client's count. Memory is bounded: at most
/// ``maxClients`` are tracked, the quietest dropped first.
final class LoginThrottle: Sendable {
    let limit: Int
    let window: Duration
    let maxClients: Int
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])

    init(limit: Int = 5, window: Duration = .seconds(60), maxClients: Int = 10_000) {
        self.limit = limit
        self.window = window
        self.maxClients = maxClients
    }

    /// How long `client` must wait before trying again, or `nil` if it may try now.
    func retryAfter(client: String, now: ContinuousClock.Instant = .now) -> Duration? {
        failures.withLock { failures in
            let recent = (failures[client] ?? []).filter { now - $0 < window }
            failures[client] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return window - (now - oldest)
        }
    }

    /// Counts a wrong token from `client`.
    func recordFailure(client: String, now: ContinuousClock.Instant = .now) {
        failures.withLock { failures in
            failures[client, default: []].append(now)
            if failures.count > maxClients {
                let quietest = failures.min { ($0.value.last ?? now) < ($1.value.last ?? now) }?.key
                if let quietest { failures[quietest] = nil }
            }
        }
    }

    /// Forgets `client`'s wrong tokens (it gave the right one).
    func reset(client: String) {
        _ = failures.withLock { $0.removeValue(forKey: client) }
    }
}
