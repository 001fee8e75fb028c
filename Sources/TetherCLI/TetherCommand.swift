import ArgumentParser

/// `tether`: runs AI agents and stops any single run cleanly.
@main
struct TetherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tether",
        abstract: "Runs AI agents and lets a person stop any single run, cleanly, at any moment.",
        subcommands: [ServeCommand.self, RunCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
