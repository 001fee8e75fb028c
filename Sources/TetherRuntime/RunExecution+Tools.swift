import Foundation
import TetherCore

/// What the run's ``Tools`` do once their boundary check passed: each call is logged as
/// progress events of the run.
extension RunExecution: ToolBackend {
    var runID: RunID { id }

    func complete(_ request: LLMRequest) async throws -> LLMResponse {
        let call = JournalCall.llm(request)
        if let outcome = try replayed(call, label: request.label) {
            guard case .answer(let response) = outcome else { throw unreadableEntry(call) }
            return response
        }
        let llm = environment.llm
        let model = request.model ?? llm.defaultModel
        let modelName = llm.provider == "simulated" ? "simulated model" : "\(llm.provider) model \(model)"
        let label = request.label.map { "\($0): the \(modelName)" } ?? "the \(modelName)"
        let sentence = label.prefix(1).uppercased() + label.dropFirst()
        guard case .llm(let digest, let prompt) = call else { preconditionFailure("an LLM call's journal entry") }
        var startedData: [String: JSONValue] = [
            "provider": .string(llm.provider), "model": .string(model), "prompt": .string(prompt), "request": .string(digest),
        ]
        if let system = request.messages.first(where: { $0.role == .system })?.content { startedData["system"] = .string(system) }
        var place: CallPlace?
        let started: ProgressEvent
        do {
            started = try emitEntering(
                .llm,
                .llmStarted,
                request.label.map { "\($0): calling the \(modelName)…" } ?? "Calling the \(modelName)…",
                startedData,
                also: { place = try takeCallPlace() }
            )
        } catch let reached as CallBudgetReached {
            throw await stopForCallBudget(reached)
        }
        let startedSeq: JSONValue = .number(Double(started.seq))
        let clock = ContinuousClock()
        let startedAt = clock.now
        let answers = log.answersInFlight
        answers.begin(AnswerInFlight(runID: id, seq: started.seq, startedAt: started.at))
        let observer = CallObserver(run: self, seq: started.seq)
        let response: LLMResponse
        do {
            // The call leaves the board before its end is logged, so no delta follows it.
            defer { answers.end(started.seq) }
            response = try await uncancellable { try await llm.complete(request, observer: observer) }
        } catch let stop as AgentStopped {
            // A stop came while the provider waited to retry: the call ends here, unfinished.
            place?.leave()
            throw stop
        } catch {
            place?.leave()
            let elapsed = RunText.seconds(clock.now - startedAt)
            try emit(
                .llmFailed,
                "\(sentence) call failed after \(RunText.format(seconds: elapsed)): \(RunText.describe(error))",
                [
                    "provider": .string(llm.provider), "model": .string(model), "durationMs": .number((elapsed * 1000).rounded()),
                    "error": .string(RunText.describe(error)), ProgressEvent.Key.startedSeq: startedSeq,
                ]
            )
            throw error
        }
        let elapsed = RunText.seconds(clock.now - startedAt)
        var data: [String: JSONValue] = [
            "provider": .string(llm.provider), "model": .string(response.model),
            "durationMs": .number((elapsed * 1000).rounded()), "text": .string(response.text),
            ProgressEvent.Key.startedSeq: startedSeq,
        ]
        var message = "\(sentence) answered in \(RunText.format(seconds: elapsed))"
        if let usage = response.usage {
            data["usage"] = usage.json
            message += " (\(usage.totalTokens) tokens)"
        }
        let cost = environment.configuration.prices?.cost(of: response.usage, model: response.model, fallback: model)
        if let cost { data["cost"] = .number(cost) }
        count(response.usage, seconds: elapsed, cost: cost, leaving: place)
        try emit(.llmFinished, message, data)
        await enforceBudget()
        return response
    }

    /// What one LLM call's provider reports: a wait for a connection goes in the run's log,
    /// between the call's `llm.started` and its end; streamed chunks go to the tree's
    /// answers in flight, for subscribers.
    struct CallObserver: LLMCallObserver {
        let run: RunExecution
        /// The call's `llm.started`.
        let seq: Int

        func waitingForConnection(limit: Int) {
            try? run.emit(
                .log,
                "Waiting for a connection to the LLM: all \(limit) are in use by other calls (TETHER_LLM_MAX_CONNECTIONS)",
                ["waiting": "connection", "limit": .number(Double(limit))]
            )
        }

        func received(_ text: String) {
            run.log.answersInFlight.append(text, to: seq)
        }
    }

    func storeValue(for key: StoreKey) async throws -> String? {
        let call = JournalCall.storeGet(key)
        if let outcome = try replayed(call) {
            guard case .value(let value) = outcome else { throw unreadableEntry(call) }
            return value
        }
        return try await storeOperation(
            call,
            { try await environment.dataStore.value(for: key) },
            event: { value in
                (
                    value == nil ? "Read \(key): not set" : "Read \(key)",
                    [
                        "op": "get", "namespace": .string(key.namespace), "key": .string(key.key), "found": .bool(value != nil),
                        "value": value.map(JSONValue.string) ?? .null,
                    ]
                )
            }
        )
    }

    func storeSet(_ value: String, for key: StoreKey) async throws {
        let digest = ContentDigest.of(value)
        let call = JournalCall.storeSet(key, digest: digest)
        if try replayed(call) != nil { return }
        try await storeOperation(
            call,
            { try await environment.dataStore.setValue(value, for: key) },
            event: {
                (
                    "Stored \(key) (\(value.utf8.count) bytes)",
                    [
                        "op": "set", "namespace": .string(key.namespace), "key": .string(key.key),
                        "bytes": .number(Double(value.utf8.count)), "digest": .string(digest),
                    ]
                )
            }
        )
    }

    func storeDelete(_ key: StoreKey) async throws -> Bool {
        let call = JournalCall.storeDelete(key)
        if let outcome = try replayed(call) {
            guard case .found(let found) = outcome else { throw unreadableEntry(call) }
            return found
        }
        return try await storeOperation(
            call,
            { try await environment.dataStore.deleteValue(for: key) },
            event: { existed in
                (
                    existed ? "Deleted \(key)" : "Deleted \(key): it was not set",
                    ["op": "delete", "namespace": .string(key.namespace), "key": .string(key.key), "found": .bool(existed)]
                )
            }
        )
    }

    func storeList(namespace: String, prefix: String) async throws -> [StoreEntry] {
        let call = JournalCall.storeList(namespace: namespace, prefix: prefix)
        if let outcome = try replayed(call) {
            guard case .entries(let entries) = outcome else { throw unreadableEntry(call) }
            return entries
        }
        return try await storeOperation(
            call,
            { try await environment.dataStore.entries(in: namespace, prefix: prefix) },
            event: { entries in
                (
                    "Listed \(namespace)/\(prefix)…: \(entries.count) keys",
                    [
                        "op": "list", "namespace": .string(namespace), "prefix": .string(prefix),
                        "count": .number(Double(entries.count)), "entries": .array(entries.map(\.journalJSON)),
                    ]
                )
            }
        )
    }

    /// A data-store operation as a boundary whose event comes after its work: admitted by
    /// the log in one step with its entry check, so a stop being recorded waits for its
    /// event rather than following its work (``EventLog/admit(_:)``). An operation that
    /// fails logs its error (the journal keeps it: a resumed agent that had handled it takes
    /// the same path).
    func storeOperation<T>(
        _ call: JournalCall,
        _ operation: () async throws -> T,
        event: (T) -> (String, [String: JSONValue])
    ) async throws -> T {
        try logging { try log.admit { try admit(.store) } }
        let value: T
        do {
            value = try await operation()
        } catch {
            var data = call.json.objectValue ?? [:]
            data[ProgressEvent.Key.error] = .string(RunText.describe(error))
            let failed = EventDraft(
                runID: id,
                kind: .store,
                message: "Store operation failed: \(call.description): \(RunText.describe(error))",
                data: data
            )
            _ = try? log.finishAdmitted(isTerminal || work.dropsEvents ? nil : failed)
            throw error
        }
        let (message, data) = event(value)
        let draft = isTerminal || work.dropsEvents ? nil : EventDraft(runID: id, kind: .store, message: message, data: data)
        try logging { try log.finishAdmitted(draft) }
        return value
    }

    func callAgent(named name: String, input: JSONValue) async throws -> JSONValue {
        try await runChild(agent: name, input: input)
    }

    /// Logs the wait, then sleeps until its end or the stop (``BoundaryGate/sleep(for:)``).
    func wait(for duration: Duration) async throws {
        let seconds = RunText.seconds(duration)
        if try replayed(.wait(seconds: seconds)) != nil { return }
        let started = try emitEntering(.wait, .wait, "Waiting \(RunText.format(seconds: seconds))", ["seconds": .number(seconds)])
        try await gate.sleep(for: duration)
        try emit(
            .waitEnded,
            "Waited \(RunText.format(seconds: seconds))",
            ["seconds": .number(seconds), ProgressEvent.Key.startedSeq: .number(Double(started.seq))]
        )
    }

    func log(_ message: String, data: [String: JSONValue]) async throws {
        try emit(.log, message, data)
    }

    /// Runs a call that must finish once begun (an LLM call in flight) in a task of its own:
    /// when the agent's own task is cancelled — a sibling in its `async let` or task group
    /// threw `AgentStopped` — the call still finishes, and this waits for it. Only cutting
    /// the run short (a force stop, shutdown) cancels it (``RunWork/registerCall(cancel:)``).
    func uncancellable<T: Sendable>(_ call: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await call() }
        let registration = work.registerCall { task.cancel() }
        defer { work.unregisterCall(registration) }
        return try await task.value
    }
}
