import TetherCore

/// How a resumed run's boundaries take their outcomes from the journal (``RunReplay``).
extension RunExecution {
    /// The recorded outcome of boundary `call` when the run replays it, after logging its
    /// `replayed` event in one step with the entry check; `nil` when the boundary runs live.
    /// - Throws: ``ReplayDiverged``, the recorded error of a boundary that failed, or what
    ///   the entry check throws.
    func replayed(_ call: JournalCall, label: String? = nil) throws -> JournalOutcome? {
        guard case .replay(let entry, let outcome) = try replayStep(call) else { return nil }
        return try logReplayed(entry, outcome, label: label)
    }

    /// Logs a replayed boundary's event, in one step with its entry check, and returns its
    /// recorded outcome.
    /// - Throws: the recorded error of a boundary that failed, or what the entry check throws.
    func logReplayed(_ entry: JournalEntry, _ outcome: JournalOutcome, label: String?) throws -> JournalOutcome {
        try emitEntering(entry.call.boundary, .replayed, Self.replayedMessage(entry.call, outcome, label: label), replayedData(entry))
        if let error = outcome.error(call: entry.call, child: entry.child) { throw error }
        return outcome
    }

    /// The step of boundary `call`: live for a run that is not resumed.
    func replayStep(_ call: JournalCall) throws(ReplayDiverged) -> RunReplay.Step {
        guard let replay else { return .live }
        return try replay.next(call)
    }

    /// The error for an entry whose outcome does not fit its call: a journal written by hand.
    func unreadableEntry(_ call: JournalCall) -> ReplayedFailure {
        ReplayedFailure(message: "the journal's entry for \(call.description) cannot be replayed: its outcome is of another kind")
    }

    private func replayedData(_ entry: JournalEntry) -> [String: JSONValue] {
        var data: [String: JSONValue] = [
            ProgressEvent.Key.boundary: .string(entry.call.boundary.rawValue),
            "call": entry.call.json,
            "outcome": entry.outcome?.json ?? .null,
            "from": ["runId": .string(replay?.source.rawValue ?? ""), "seq": .number(Double(entry.startSeq))],
        ]
        if let child = entry.child { data["child"] = .string(child.rawValue) }
        if case .answer(let response)? = entry.outcome, let usage = response.usage { data["usage"] = usage.json }
        return data
    }

    /// `Replayed the LLM call (outline): 120 tokens not paid again`.
    static func replayedMessage(_ call: JournalCall, _ outcome: JournalOutcome, label: String?) -> String {
        switch (call, outcome) {
        case (.llm, .answer(let response)):
            let name = label.map { "the LLM call (\($0))" } ?? "an LLM call"
            let cost = response.usage.map { "\(NumberText.grouped($0.totalTokens)) tokens not paid again" } ?? "not paid again"
            return "Replayed \(name): \(cost)"
        case (.agent(let name, _), .result):
            return "Replayed the call of agent \(name): its result, without running it again"
        case (.wait(let seconds), _):
            return "Replayed a wait of \(RunText.format(seconds: seconds)): not waited again"
        case (.storeSet(let key, _), _):
            return "Replayed the store write of \(key): not written again"
        case (_, .failed(let message, _)):
            return "Replayed \(call.description), which failed: \(JournalCall.excerpt(message))"
        default:
            return "Replayed \(call.description)"
        }
    }
}
