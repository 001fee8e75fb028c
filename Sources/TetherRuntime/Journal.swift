import TetherCore

/// What a run tree's boundaries returned, read back from its event log (DESIGN §3): for each
/// run, the boundaries it passed in the order they began, each with its outcome once it
/// ended. The log is the journal: every boundary's events carry what it was asked and what
/// it returned (`llm.started` the request's digest, `llm.finished` the answer and its usage,
/// `store` the value read, `agent.returned` the child's result or error, `wait.ended` the
/// end of a wait), and a resumed run's `replayed` events carry the entries they replayed,
/// so a resumed run can be resumed in its turn.
struct Journal: Sendable {
    private(set) var entries: [RunID: [JournalEntry]] = [:]

    /// The journal of `events`, a tree's log in `seq` order (or its first part, for a fork).
    init(events: some Sequence<ProgressEvent>) {
        var open: [Int: (RunID, Int)] = [:]
        var children: [RunID: (RunID, Int)] = [:]
        for event in events {
            let run = event.runID
            let data = JSONValue.object(event.data)
            switch event.kind {
            case .llmStarted:
                let digest = data["request"]?.stringValue
                let index = append(.llm(digest: digest ?? "", prompt: data["prompt"]?.stringValue ?? ""), to: run, at: event.seq)
                // A log from before the journal carries no digest: the call is never replayed.
                if digest != nil { open[event.seq] = (run, index) }
            case .llmFinished, .llmFailed:
                guard let (owner, index) = take(event, from: &open, boundary: .llm) else { continue }
                let outcome: JournalOutcome? =
                    event.kind == .llmFinished
                    ? data["text"]?.stringValue.map {
                        .answer(LLMResponse(text: $0, model: data["model"]?.stringValue ?? "", usage: data["usage"].flatMap(TokenUsage.init(json:))))
                    }
                    : .failed(message: data["error"]?.stringValue ?? event.message, childStatus: nil)
                entries[owner]?[index].outcome = outcome
                entries[owner]?[index].endSeq = event.seq
            case .store:
                // A store event the journal cannot read (a `set` logged before the journal,
                // with no digest) still takes its position, and goes live.
                let call =
                    JournalCall.store(data)
                    ?? JournalCall.storeSet(
                        StoreKey(namespace: data["namespace"]?.stringValue ?? "", key: data["key"]?.stringValue ?? ""),
                        digest: ""
                    )
                let index = append(call, to: run, at: event.seq)
                entries[run]?[index].outcome =
                    data[ProgressEvent.Key.error]?.stringValue.map { .failed(message: $0, childStatus: nil) }
                    ?? (call.isUnrecorded ? nil : Self.storeOutcome(call, data))
                entries[run]?[index].endSeq = event.seq
            case .agentCalled:
                guard let name = data["agent"]?.stringValue, let child = event.calledChild else { continue }
                let index = append(.agent(name: name, input: data["input"] ?? .null), to: run, at: event.seq)
                entries[run]?[index].child = child
                children[child] = (run, index)
            case .agentReturned:
                guard let child = data[ProgressEvent.Key.runID]?.stringValue.map(RunID.init(stored:)),
                    let (owner, index) = children.removeValue(forKey: child),
                    let status = data[ProgressEvent.Key.status]?.stringValue.flatMap(RunStatus.init(rawValue:))
                else { continue }
                entries[owner]?[index].outcome = Self.childOutcome(status, data)
                entries[owner]?[index].endSeq = event.seq
            case .wait:
                open[event.seq] = (run, append(.wait(seconds: data["seconds"]?.numberValue ?? 0), to: run, at: event.seq))
            case .waitEnded:
                guard let (owner, index) = take(event, from: &open, boundary: .wait) else { continue }
                entries[owner]?[index].outcome = .done
                entries[owner]?[index].endSeq = event.seq
            case .replayed:
                guard let call = data["call"].flatMap(JournalCall.init(json:)) else { continue }
                let index = append(call, to: run, at: event.seq)
                entries[run]?[index].outcome = data["outcome"].flatMap(JournalOutcome.init(json:))
                entries[run]?[index].child = data["child"]?.stringValue.map(RunID.init(stored:))
                entries[run]?[index].endSeq = event.seq
            case .runStarted, .log, .stopRequested, .runFinished:
                continue
            }
        }
    }

    /// The entries of run `id`, in the order its boundaries began.
    func entries(of id: RunID) -> [JournalEntry] {
        entries[id] ?? []
    }

    private mutating func append(_ call: JournalCall, to run: RunID, at seq: Int) -> Int {
        entries[run, default: []].append(JournalEntry(call: call, startSeq: seq))
        return entries[run]!.count - 1
    }

    /// The open entry an ending event closes: the one its `startedSeq` names, or (a log from
    /// before that key) the run's oldest open entry of that boundary.
    private func take(_ event: ProgressEvent, from open: inout [Int: (RunID, Int)], boundary: Boundary) -> (RunID, Int)? {
        if let started = event.data[ProgressEvent.Key.startedSeq]?.numberValue {
            return open.removeValue(forKey: Int(started))
        }
        let candidates = open.filter { $0.value.0 == event.runID && entries[event.runID]?[$0.value.1].call.boundary == boundary }
        guard let oldest = candidates.keys.min() else { return nil }
        return open.removeValue(forKey: oldest)
    }

    /// What a `store` event says the operation returned; `nil` when it does not say (a log
    /// from before the journal).
    private static func storeOutcome(_ call: JournalCall, _ data: JSONValue) -> JournalOutcome? {
        switch call {
        case .storeGet: data["value"].map { .value($0.stringValue) }
        case .storeSet: .done
        case .storeDelete: data["found"]?.boolValue.map(JournalOutcome.found)
        case .storeList: data["entries"]?.arrayValue.map { .entries($0.compactMap(StoreEntry.init(journalJSON:))) }
        default: nil
        }
    }

    /// What a child's `agent.returned` means to its caller's `agents.call`.
    private static func childOutcome(_ status: RunStatus, _ data: JSONValue) -> JournalOutcome? {
        switch status {
        case .succeeded: data[ProgressEvent.Key.result].map(JournalOutcome.result)
        case .running, .stopping: nil
        case .failed, .stopped, .interrupted:
            .failed(message: data[ProgressEvent.Key.error]?.stringValue ?? "no message", childStatus: status)
        }
    }
}
