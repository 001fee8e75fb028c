/// An agent written in Swift (DESIGN §6). A new instance serves each run.
///
/// Its only way to do observable work is `tools`; each tool is a structural boundary that
/// throws ``AgentStopped`` once a stop is requested.
public protocol Agent: Sendable {
    /// Does the work and returns the run's result.
    func run(input: JSONValue, tools: Tools) async throws -> JSONValue

    /// Releases what `run` held. Awaited after `run` ends, however it ended, before the
    /// run's final status is written (Swift has no `await` in `defer`). Tools throw
    /// ``ToolsClosed`` here: the run's observable work is over.
    func cleanup() async
}

extension Agent {
    public func cleanup() async {}
}

/// A registered agent: what people see of it, and how to make one for a run.
public struct AgentDescriptor: Sendable {
    public var name: String
    public var description: String
    /// The input fields, in the order a form shows them; `nil` for an agent that takes any
    /// JSON object unchecked.
    public var input: [InputField]?
    /// The limits of its runs' trees when it runs as a root run (a definition's `budget`);
    /// the server's defaults fill in the rest, a request may override them.
    public var budget: RunBudget?
    /// Makes the agent instance for one run.
    public var makeAgent: @Sendable () -> any Agent

    public init(
        name: String,
        description: String,
        input: [InputField]? = nil,
        budget: RunBudget? = nil,
        makeAgent: @escaping @Sendable () -> any Agent
    ) {
        self.name = name
        self.description = description
        self.input = input
        self.budget = budget
        self.makeAgent = makeAgent
    }
}

/// One input field of an agent.
public struct InputField: Sendable, Hashable, Codable {
    public enum FieldType: String, Sendable, Hashable, Codable, CaseIterable {
        /// One line of text.
        case string
        /// Multi-line text.
        case text
        case number
        case boolean
    }

    public var name: String
    public var type: FieldType

    public init(name: String, type: FieldType) {
        self.name = name
        self.type = type
    }
}

/// The agents a supervisor can run, by name.
public struct AgentRegistry: Sendable {
    private var byName: [String: AgentDescriptor] = [:]

    public init(_ descriptors: [AgentDescriptor] = []) {
        for descriptor in descriptors { register(descriptor) }
    }

    /// Adds an agent, replacing one of the same name.
    public mutating func register(_ descriptor: AgentDescriptor) {
        byName[descriptor.name] = descriptor
    }

    public subscript(name: String) -> AgentDescriptor? { byName[name] }

    /// Every agent, sorted by name.
    public var all: [AgentDescriptor] { byName.values.sorted { $0.name < $1.name } }
}
