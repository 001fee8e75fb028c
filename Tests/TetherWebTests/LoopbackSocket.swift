import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to 127.0.0.1, for tests that speak raw HTTP (hostile or old
/// requests HTTP clients will not send). Its calls block: make them through
/// ``offThePool(_:)``, since the server under test runs on the same cooperative threads.
enum LoopbackSocket {
    /// Connects to `port` with a receive timeout as the only fail-safe; returns the file
    /// descriptor (the caller closes it), or `nil` when nothing accepts the connection.
    static func connect(port: Int, receiveTimeout seconds: Int = 20) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}

/// Runs a blocking call (a raw socket's) on a Dispatch thread, not on the cooperative pool
/// that the server under test needs.
func offThePool<T: Sendable>(_ call: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try call() }) }
    }
}

func offThePool<T: Sendable>(_ call: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: call()) }
    }
}
