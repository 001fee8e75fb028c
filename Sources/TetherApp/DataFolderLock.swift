import Foundation
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// One data folder, one server: an exclusive `flock` on `tether.lock` in the folder, held
/// for the life of the process (the kernel releases it when the process ends, crash
/// included). A second `tether serve` on the same folder refuses to start instead of marking
/// the first one's live runs `interrupted` and writing clashing event numbers.
///
/// It runs as a service that keeps the lock until the process shuts down.
public final class DataFolderLock: Service, Sendable {
    public static let fileName = "tether.lock"
    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Takes the lock of `directory` (creating the folder if need be).
    /// - Throws: ``StartupError`` naming the folder (and the process holding it) when
    ///   another process holds the lock, or when the lock file cannot be opened.
    public static func acquire(directory: String) throws(StartupError) -> DataFolderLock {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw StartupError("the data folder \(directory) cannot be created: \(error.localizedDescription)")
        }
        let path = (directory as NSString).appendingPathComponent(fileName)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StartupError("the data folder \(directory) cannot be locked: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            let who = holder.map { $0.isEmpty ? "" : " (process \($0))" } ?? ""
            throw StartupError(
                "the data folder \(directory) is in use by another Tether\(who); stop it first, or give this one another TETHER_DATA_DIR"
            )
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        return DataFolderLock(descriptor: descriptor)
    }

    /// Holds the lock until graceful shutdown.
    public func run() async throws {
        try? await gracefulShutdown()
    }

    deinit {
        close(descriptor)
    }
}
