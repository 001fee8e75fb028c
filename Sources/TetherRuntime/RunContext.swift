import Foundation
import TetherCore

/// What a run's ``Tools`` do once their boundary check passed: each call is logged as
/// progress events of the run, and child runs go through the supervisor.
struct RunContext: ToolBackend {
    let run: LiveRun
    let supervisor: RunSupervisor

    var runID: RunID { run.id }
    var token: CancelToken { run.token }
    var isClosed: Bool { run.isToolsClosed }

    func noteStop(at boundary: Boundary) {
        run.noteStop(at: boundary)
    }

    func complete(_ request: LLMRequest) async throws -> LLMResponse {
        let llm = supervisor.llm
        let model = request.model ?? llm.defaultModel
        let modelName = llm.provider == "simulated" ? "simulated model" : "\(llm.provider) model \(model)"
        let label = request.label.map { "\($0): the \(modelName)" } ?? "the \(modelName)"
        let prompt = request.messages.last(where: { $0.role == .user })?.content ?? ""
        try await supervisor.emit(
            run, .llmStarted, request.label.map { "\($0): calling the \(modelName)…" } ?? "Calling the \(modelName)…",
            ["provider": .string(llm.provider), "model": .string(model), "prompt": .string(prompt)])
        let clock = ContinuousClock()
        let started = clock.now
        let response: LLMResponse
        do {
            response = try await llm.complete(request)
        } catch {
            let elapsed = Self.seconds(clock.now - started)
            try await supervisor.emit(
                run, .llmFailed, "\(label.prefix(1).uppercased() + label.dropFirst()) call failed after \(RunSupervisor.format(seconds: elapsed)): \(RunSupervisor.describe(error))",
                ["provider": .string(llm.provider), "model": .string(model), "durationMs": .number((elapsed * 1000).rounded()),
                 "error": .string(RunSupervisor.describe(error))])
            throw error
        }
        let elapsed = Self.seconds(clock.now - started)
        var data: [String: JSONValue] = [
            "provider": .string(llm.provider), "model": .string(response.model),
            "durationMs": .number((elapsed * 1000).rounded()), "text": .string(response.text),
        ]
        var message = "\(label.prefix(1).uppercased() + label.dropFirst()) answered in \(RunSupervisor.format(seconds: elapsed))"
        if let usage = response.usage {
            data["usage"] = [
                "promptTokens": .number(Double(usage.promptTokens)),
                "completionTokens": .number(Double(usage.completionTokens)),
                "totalTokens": .number(Double(usage.totalTokens)),
            ]
            message += " (\(usage.totalTokens) tokens)"
        }
        try await supervisor.emit(run, .llmFinished, message, data)
        return response
    }

    func storeValue(for key: StoreKey) async throws -> String? {
        let value = try await supervisor.dataStore.value(for: key)
        try await supervisor.emit(
            run, .store, value == nil ? "Read \(key): not set" : "Read \(key)",
            ["op": "get", "namespace": .string(key.namespace), "key": .string(key.key), "found": .bool(value != nil)])
        return value
    }

    func storeSet(_ value: String, for key: StoreKey) async throws {
        try await supervisor.dataStore.setValue(value, for: key)
        try await supervisor.emit(
            run, .store, "Stored \(key) (\(value.utf8.count) bytes)",
            ["op": "set", "namespace": .string(key.namespace), "key": .string(key.key),
             "bytes": .number(Double(value.utf8.count))])
    }

    func storeDelete(_ key: StoreKey) async throws -> Bool {
        let existed = try await supervisor.dataStore.deleteValue(for: key)
        try await supervisor.emit(
            run, .store, existed ? "Deleted \(key)" : "Deleted \(key): it was not set",
            ["op": "delete", "namespace": .string(key.namespace), "key": .string(key.key), "found": .bool(existed)])
        return existed
    }

    func storeList(namespace: String, prefix: String) async throws -> [StoreEntry] {
        let entries = try await supervisor.dataStore.entries(in: namespace, prefix: prefix)
        try await supervisor.emit(
            run, .store, "Listed \(namespace)/\(prefix)…: \(entries.count) keys",
            ["op": "list", "namespace": .string(namespace), "prefix": .string(prefix),
             "count": .number(Double(entries.count))])
        return entries
    }

    func callAgent(named name: String, input: JSONValue) async throws -> JSONValue {
        try await supervisor.runChild(of: run, agent: name, input: input)
    }

    /// Sleeps in a child task that a stop request ends at once; the run's own task is never
    /// cancelled.
    func wait(for duration: Duration) async throws {
        let seconds = Self.seconds(duration)
        try await supervisor.emit(
            run, .wait, "Waiting \(RunSupervisor.format(seconds: seconds))", ["seconds": .number(seconds)])
        let token = run.token
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await token.stopRequested() }
            await group.next()
            group.cancelAll()
        }
        try Task.checkCancellation()
        if token.isStopRequested {
            run.noteStop(at: .wait)
            throw AgentStopped(boundary: .wait)
        }
    }

    func log(_ message: String, data: [String: JSONValue]) async throws {
        try await supervisor.emit(run, .log, message, data)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
