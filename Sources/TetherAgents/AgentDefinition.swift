import TetherCore

/// An agent defined in a file `Agents/<name>.json` (DESIGN §6), checked at load.
public struct AgentDefinition: Sendable {
    public var name: String
    public var description: String
    /// Input fields in the order the file lists them.
    public var input: [InputField]
    public var steps: [Step]
    /// Limits of a run tree started from it (`"budget"`); `nil` when the file sets none.
    public var budget: RunBudget?
    /// The file it came from, for messages.
    public var file: String

    /// The names of the agents its `call` steps name, at any depth.
    var calledAgents: [String] {
        Step.calls(in: steps)
    }
}

/// One step of a definition. Paths such as `steps[2].do[0]` name steps in messages.
public indirect enum Step: Sendable {
    /// Chat completion; the answer's text goes into `as`.
    case llm(prompt: Template, system: Template?, as: String?)
    /// Reads a key (`namespace/key`) into `as`; `null` when unset.
    case storeGet(key: Template, as: String)
    case storeSet(key: Template, value: Template)
    /// Deletes a key; whether it existed goes into `as`.
    case storeDelete(key: Template, as: String?)
    /// Lists a prefix into `as`: a list of `{key, value}` objects.
    case storeList(prefix: Template, as: String)
    /// Runs another agent as a child run; its result goes into `as`.
    case call(agent: String, input: [(field: String, value: CallArgument)], as: String?)
    /// Runs `steps` once per item of a list, or per non-blank line of a text.
    case each(source: VariablePath, as: String, steps: [Step])
    case log(Template)
    case wait(seconds: Double)
    case `return`(Template)

    /// The step's kind as written in files.
    public var kind: String {
        switch self {
        case .llm: "llm"
        case .storeGet: "store_get"
        case .storeSet: "store_set"
        case .storeDelete: "store_delete"
        case .storeList: "store_list"
        case .call: "call"
        case .each: "each"
        case .log: "log"
        case .wait: "wait"
        case .return: "return"
        }
    }

    static func calls(in steps: [Step]) -> [String] {
        steps.flatMap { step -> [String] in
            switch step {
            case .call(let agent, _, _): [agent]
            case .each(_, _, let inner): calls(in: inner)
            default: []
            }
        }
    }
}

/// A value given to a called agent's input field: a template, or a literal of another type.
public enum CallArgument: Sendable {
    case template(Template)
    case literal(JSONValue)
}

/// Why a definition file was rejected: the file, where in it, and the reason.
public struct DefinitionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file's name, e.g. `brief.json`.
    public var file: String
    /// Where in the file (`steps[1].do[0]`), or empty for the whole file.
    public var path: String
    public var reason: String

    public init(file: String, path: String = "", reason: String) {
        self.file = file
        self.path = path
        self.reason = reason
    }

    public var description: String {
        path.isEmpty ? "\(file): \(reason)" : "\(file): \(path): \(reason)"
    }
}
