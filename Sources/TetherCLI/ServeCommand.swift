import ArgumentParser
import Logging
import TetherApp
import TetherWeb

/// `tether serve` (the default): the HTTP API, event streams and the Runs screen.
/// SIGTERM or Ctrl-C shuts down gracefully: runs are asked to stop first, then the server
/// closes.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API and the Runs screen (the default command)."
    )

    @OptionGroup var settings: SettingsOptions

    func run() async throws {
        let configuration = try settings.configuration()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let app: TetherApplication
        do {
            app = try await buildApplication(configuration, dependencies: ServerDependencies(logger: Logger(label: "tether")))
        } catch {
            throw CommandFailure(message: error.description)
        }
        try await app.serve()
    }
}
