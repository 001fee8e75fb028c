import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TetherApp
import TetherCore
import TetherRuntime
import UnixSignals

/// `tether run AGENT --input '{…}'`: runs one agent in the terminal, printing its progress
/// live. Ctrl-C requests a cooperative stop; a second Ctrl-C forces it.
///
/// Exit status: 0 succeeded, 1 failed or interrupted, 130 stopped (as after SIGINT).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one agent in the terminal; Ctrl-C stops it cooperatively, a second Ctrl-C forces."
    )

    @Argument(help: "The agent to run (a definition in the agents folder).")
    var agent: String

    @Option(name: .long, help: "The input, as a JSON object of fields, e.g. '{\"topic\":\"owls\"}'.")
    var input: String = "{}"

    @OptionGroup var settings: SettingsOptions

    func run() async throws {
        let configuration = try settings.configuration()
        let inputValue: JSONValue
        do {
            inputValue = try JSONValue.parse(input)
        } catch {
            throw ValidationError("--input is not valid JSON: \(error)")
        }
        var logger = Logger(label: "tether")
        logger.logLevel = .warning
        let assembly: RuntimeAssembly
        do {
            assembly = try await RuntimeAssembly.build(configuration: configuration, storage: .memory, logger: logger)
        } catch {
            throw CommandFailure(message: error.description)
        }
        let printer = ProgressPrinter()
        for rejected in assembly.agents.rejected { printer.warn("rejected \(rejected)") }

        let supervisor = assembly.supervisor
        let group = ServiceGroup(
            configuration: .init(
                services: assembly.services.map { .init(service: $0) } + [.init(service: supervisor)],
                gracefulShutdownSignals: [],
                cancellationSignals: [],
                logger: logger
            )
        )
        let status: RunStatus = try await withThrowingTaskGroup(of: RunStatus?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            let record: RunRecord
            do {
                record = try await supervisor.start(agent: agent, input: inputValue)
            } catch let error as SupervisorError {
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                throw CommandFailure(message: Self.explain(error, agents: supervisor.agents))
            }
            printer.line("Run \(record.id) of agent \(agent) — Ctrl-C stops it after the current LLM call")
            tasks.addTask {
                await Self.relaySignals(to: supervisor, run: record.id, printer: printer)
                return nil
            }
            for try await event in supervisor.reads.events(ofTree: record.id) {
                printer.print(event)
            }
            let final = try await supervisor.reads.waitUntilFinished(record.id)
            printer.finish(final)
            await group.triggerGracefulShutdown()
            tasks.cancelAll()
            try await tasks.waitForAll()
            return final.status
        }
        switch status {
        case .succeeded: return
        case .stopped: throw ExitCode(130)
        default: throw ExitCode.failure
        }
    }

    /// First Ctrl-C: a cooperative stop. Second: a force stop.
    static func relaySignals(to supervisor: RunSupervisor, run id: RunID, printer: ProgressPrinter) async {
        var count = 0
        for await _ in await UnixSignalsSequence(trapping: .sigint) {
            count += 1
            if count == 1 {
                printer.warn("\(RunStatus.stoppingNotice) — press Ctrl-C again to force")
                _ = try? await supervisor.stop(id)
            } else {
                printer.warn("Forcing the stop")
                _ = try? await supervisor.stop(id, force: true)
                return
            }
        }
    }

    static func explain(_ error: SupervisorError, agents: AgentRegistry) -> String {
        switch error {
        case .unknownAgent:
            let names = agents.all.map(\.name).joined(separator: ", ")
            return "\(error) (agents: \(names.isEmpty ? "none loaded" : names))"
        default:
            return error.description
        }
    }
}

/// An error worth one line and no usage text (ArgumentParser prints `Error: <description>`).
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
