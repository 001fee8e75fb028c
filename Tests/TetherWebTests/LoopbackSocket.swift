import Foundation
import Testing

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

/// A raw TCP connection to 127.0.0.1 with a receive timeout as the only fail-safe. Its
/// calls block, so tests make them through ``offThePool(_:)``: the server under test
/// runs on the same cooperative threads.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    init(port: Int) throws {
        fd = try #require(LoopbackSocket.connect(port: port))
    }

    deinit { close(fd) }

    /// Sends `text`; `false` once the server has closed the connection (no `SIGPIPE`).
    @discardableResult
    func send(_ text: String) -> Bool {
        text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } >= 0
    }

    /// Bytes read past the last response returned.
    private var pending = [UInt8]()

    /// Reads one response (headers and a `Content-Length` body).
    func readResponse() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = Self.headerEnd(in: pending) {
                let head = String(decoding: pending[..<end], as: UTF8.self)
                let length =
                    head.split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if pending.count >= end + 4 + length {
                    let response = String(decoding: pending[..<(end + 4 + length)], as: UTF8.self)
                    pending.removeFirst(end + 4 + length)
                    return response
                }
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            pending += buffer[0..<count]
        }
    }

    static func headerEnd(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    /// Sends `start`, then `byte` every 50 ms (a client trickling its request) until the
    /// server answers or closes; whether it closed the connection. After 60 s, the fail-safe,
    /// `false`.
    func trickle(after start: String, byte: String) -> Bool {
        guard send(start) else { return true }
        for _ in 0..<1200 {
            if !send(byte) { return true }
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, 50) > 0 { return isClosedByServer() }
        }
        return false
    }

    /// Whether the server closed the connection within the receive timeout: a read returns
    /// end of file, or a reset (a server that closes with bytes of ours still unread resets).
    func isClosedByServer() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count == 0 || (count < 0 && errno == ECONNRESET)
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
