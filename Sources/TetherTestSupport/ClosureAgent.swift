import TetherCore

/// An agent made of closures, for tests and benchmarks.
public struct ClosureAgent: Agent {
    let body: @Sendable (JSONValue, Tools) async throws -> JSONValue
    let onCleanup: @Sendable () async -> Void

    public init(
        run: @escaping @Sendable (JSONValue, Tools) async throws -> JSONValue,
        cleanup: @escaping @Sendable () async -> Void = {}
    ) {
        self.body = run
        self.onCleanup = cleanup
    }

    public func run(input: JSONValue, tools: Tools) async throws -> JSONValue {
        try await body(input, tools)
    }

    public func cleanup() async {
        await onCleanup()
    }
}

extension AgentDescriptor {
    /// A descriptor whose every run uses the same closures.
    public static func closure(
        _ name: String,
        run: @escaping @Sendable (JSONValue, Tools) async throws -> JSONValue,
        cleanup: @escaping @Sendable () async -> Void = {}
    ) -> AgentDescriptor {
        AgentDescriptor(name: name, description: "test agent \(name)") {
            ClosureAgent(run: run, cleanup: cleanup)
        }
    }
}
