/// What a run's tools do once the boundary check let them through. The runtime implements it
/// (events, stores, child runs); ``Tools`` owns the check, so no tool can skip it.
public protocol ToolBackend: Sendable {
    /// The run these tools belong to.
    var runID: RunID { get }

    func complete(_ request: LLMRequest) async throws -> LLMResponse
    func storeValue(for key: StoreKey) async throws -> String?
    func storeSet(_ value: String, for key: StoreKey) async throws
    func storeDelete(_ key: StoreKey) async throws -> Bool
    func storeList(namespace: String, prefix: String) async throws -> [StoreEntry]
    func callAgent(named name: String, input: JSONValue) async throws -> JSONValue
    func wait(for duration: Duration) async throws
    func log(_ message: String, data: [String: JSONValue]) async throws
}

/// The tools a run's agent works through (DESIGN §6). Every tool but `log` is a structural
/// boundary: it checks the stop token on entry and throws ``AgentStopped`` without doing
/// anything observable when a stop was requested.
public struct Tools: Sendable {
    let gate: BoundaryGate
    let backend: any ToolBackend

    /// - Parameters:
    ///   - gate: the run's boundary rule (its token, and whether its tools are closed).
    ///   - backend: what the tools do once the check let them through.
    public init(gate: BoundaryGate, backend: any ToolBackend) {
        self.gate = gate
        self.backend = backend
    }

    /// The run the tools belong to.
    public var runID: RunID { backend.runID }

    /// Chat completion through the configured provider.
    public var llm: LLMTool { LLMTool(tools: self) }
    /// The shared, namespaced key/value store.
    public var store: StoreTool { StoreTool(tools: self) }
    /// Calls into other agents, as child runs.
    public var agents: AgentsTool { AgentsTool(tools: self) }

    /// Sleeps for `duration`, but wakes and throws ``AgentStopped`` as soon as a stop is
    /// requested.
    public func wait(for duration: Duration) async throws {
        try enter(.wait)
        try await backend.wait(for: duration)
    }

    /// Writes a `log` event. Not a boundary: cleanup code may log after a stop.
    public func log(_ message: String, data: [String: JSONValue] = [:]) async throws {
        try await backend.log(message, data: data)
    }

    /// The one entry check every boundary shares (``BoundaryGate/enter(_:)``).
    public func enter(_ boundary: Boundary) throws {
        try gate.enter(boundary)
    }
}

/// `tools.llm`: chat completion.
public struct LLMTool: Sendable {
    let tools: Tools

    /// Sends `prompt` (after an optional `system` message) and returns the answer's text.
    public func complete(_ prompt: String, system: String? = nil) async throws -> String {
        try await chat(LLMRequest(prompt: prompt, system: system)).text
    }

    /// Sends a whole chat request and returns the provider's answer with its token usage.
    public func chat(_ request: LLMRequest) async throws -> LLMResponse {
        try tools.enter(.llm)
        return try await tools.backend.complete(request)
    }
}

/// `tools.store`: the namespaced key/value store (`namespace/key`, see ``StoreKey``).
public struct StoreTool: Sendable {
    let tools: Tools

    public func get(_ key: String) async throws -> String? {
        try tools.enter(.store)
        return try await tools.backend.storeValue(for: StoreKey(parsing: key))
    }

    public func set(_ key: String, to value: String) async throws {
        try tools.enter(.store)
        try await tools.backend.storeSet(value, for: StoreKey(parsing: key))
    }

    /// Returns whether there was a value to delete.
    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        try tools.enter(.store)
        return try await tools.backend.storeDelete(StoreKey(parsing: key))
    }

    /// The entries under `prefix` (`brief/` lists namespace `brief`; `brief/a` the keys of
    /// `brief` starting with `a`; a prefix with no `/` lists namespace `default`).
    public func list(_ prefix: String) async throws -> [StoreEntry] {
        try tools.enter(.store)
        let key = StoreKey(parsing: prefix)
        return try await tools.backend.storeList(namespace: key.namespace, prefix: key.key)
    }
}

/// `tools.agents`: calls into other agents.
public struct AgentsTool: Sendable {
    let tools: Tools

    /// Runs agent `name` as a child run inside this run's task and returns its result.
    /// - Throws: ``AgentStopped`` if this run is stopping, ``SubRunStopped`` if the child
    ///   alone was stopped, ``SubRunFailed``, ``UnknownAgent`` or ``NestingTooDeep``.
    public func call(_ name: String, input: JSONValue) async throws -> JSONValue {
        try tools.enter(.agentsCall)
        return try await tools.backend.callAgent(named: name, input: input)
    }
}
