import Foundation
import TetherCore

/// Loads every `*.json` file of the agents folder (`TETHER_AGENTS_DIR`). A file that does
/// not parse, names an unknown step kind, agent or variable, or calls into itself is
/// rejected with the file, the step and the reason; the valid ones load regardless.
public enum DefinitionLoader {
    /// Loads the folder at `directory`.
    /// - Parameter otherAgents: agents registered in Swift, which definitions may call.
    public static func load(directory: String, otherAgents: [AgentDescriptor] = []) -> DefinitionLoadResult {
        let folder = URL(fileURLWithPath: directory)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
                .sorted()
        } catch {
            return DefinitionLoadResult(
                directory: directory,
                definitions: [],
                rejected: [DefinitionError(file: directory, reason: "the agents folder cannot be read (\(Self.reason(error)))")]
            )
        }
        var files: [(name: String, text: String)] = []
        var rejected: [DefinitionError] = []
        for name in names {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else {
                rejected.append(DefinitionError(file: name, reason: "the file cannot be read"))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                rejected.append(DefinitionError(file: name, reason: "the file is not UTF-8 text"))
                continue
            }
            files.append((name, text))
        }
        let result = load(files: files, otherAgents: otherAgents)
        return DefinitionLoadResult(
            directory: directory,
            definitions: result.definitions,
            rejected: (rejected + result.rejected).sorted { $0.file < $1.file }
        )
    }

    /// Loads definitions from `(file name, text)` pairs (the folder-free core of loading).
    public static func load(files: [(name: String, text: String)], otherAgents: [AgentDescriptor] = []) -> DefinitionLoadResult {
        var decoded: [AgentDefinition] = []
        var rejected: [DefinitionError] = []
        for (name, text) in files {
            do {
                let definition = try DefinitionDecoder(file: name).decode(text)
                try DefinitionValidator.checkVariables(of: definition)
                decoded.append(definition)
            } catch {
                rejected.append(error)
            }
        }
        let others = Dictionary(otherAgents.map { ($0.name, $0.input) }, uniquingKeysWith: { first, _ in first })
        let checked = DefinitionValidator.checkCalls(decoded, otherAgents: others, alreadyRejected: rejected)
        return DefinitionLoadResult(
            directory: nil,
            definitions: checked.valid,
            rejected: (rejected + checked.rejected).sorted { $0.file < $1.file }
        )
    }

    static func reason(_ error: any Error) -> String {
        (error as NSError).localizedDescription
    }
}

/// What loading the agents folder gave.
public struct DefinitionLoadResult: Sendable {
    public var directory: String?
    public var definitions: [AgentDefinition]
    public var rejected: [DefinitionError]

    /// One line for the log: how many loaded, and which were rejected and why.
    public var summary: String {
        let names = definitions.map(\.name).sorted().joined(separator: ", ")
        var line = "loaded \(definitions.count) agent definition\(definitions.count == 1 ? "" : "s")"
        if let directory { line += " from \(directory)" }
        if !names.isEmpty { line += " (\(names))" }
        if !rejected.isEmpty {
            line += "; rejected \(rejected.count): " + rejected.map(\.description).joined(separator: "; ")
        }
        return line
    }

    /// The definitions as agents a supervisor can run.
    public var descriptors: [AgentDescriptor] {
        definitions.map { definition in
            AgentDescriptor(name: definition.name, description: definition.description, input: definition.input, budget: definition.budget) {
                DefinitionAgent(definition: definition)
            }
        }
    }
}
