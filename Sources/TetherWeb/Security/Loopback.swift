/// The exposure rule without `TETHER_API_TOKEN`: a name is loopback only if it is *exactly*
/// `localhost`, a dotted quad in 127.0.0.0/8, or `[::1]` (`::1` as a bind address), with an
/// optional port in a `Host` header. Lookalikes (`localhost.evil.example`,
/// `127.0.0.1.nip.io`, `127.1`, `localhost.`) are not: a name an attacker controls could be
/// made to resolve to 127.0.0.1 (DNS rebinding).
enum Loopback {
    /// Whether `host` (no port) is exactly a loopback name or address.
    static func isLoopback(host: String) -> Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower == "::1" || lower == "[::1]" { return true }
        let parts = lower.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        var octets: [Int] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0 >= "0" && $0 <= "9" }), let octet = Int(part), octet <= 255
            else { return false }
            octets.append(octet)
        }
        return octets[0] == 127
    }

    /// Whether a `Host` header's value (`name[:port]` or `[address][:port]`) names a loopback
    /// host exactly, with at most a valid port.
    static func isLoopback(authority: String) -> Bool {
        let host: Substring
        let rest: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[...close]
            rest = authority[authority.index(after: close)...]
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            rest = authority[colon...]
        } else {
            host = Substring(authority)
            rest = ""
        }
        guard rest.isEmpty || isPort(rest.dropFirst()) && rest.first == ":" else { return false }
        return isLoopback(host: String(host))
    }

    private static func isPort(_ text: Substring) -> Bool {
        (1...5).contains(text.count) && text.allSatisfy { $0 >= "0" && $0 <= "9" } && Int(text).map { $0 <= 65_535 } == true
    }
}
