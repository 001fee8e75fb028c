import Crypto
import Foundation
import Synchronization

/// What the login cookie holds: not the token itself (no response ever carries it) but a
/// value derived from it that stands for it, checked in constant time.
struct LoginSession: Sendable {
    let token: String
    let cookieValue: String

    /// The cookie is an HMAC of the token, not the token: every instance sharing the token
    /// accepts it (behind a load balancer, the login and the next request may reach different
    /// instances), it says nothing of the token, and changing the token signs everyone out.
    init(token: String) {
        self.token = token
        let mac = HMAC<SHA256>.authenticationCode(for: Data("tether login cookie v1".utf8), using: SymmetricKey(data: Data(token.utf8)))
        cookieValue = mac.map { String($0 >> 4, radix: 16) + String($0 & 0x0F, radix: 16) }.joined()
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
