import Crypto
import Foundation
import TetherCore

/// One boundary a run passed, as its tree's log keeps it (DESIGN §3): what was asked, what it
/// returned once it ended, and where it is in the log.
struct JournalEntry: Sendable, Hashable {
    var call: JournalCall
    /// `nil` while the boundary had not ended when the log ends (a crash, an LLM call whose
    /// answer never came, a `wait` woken by a stop, a child run stopped with its caller).
    var outcome: JournalOutcome?
    /// The `seq` of the event that began it.
    var startSeq: Int
    /// The `seq` of the event that ended it (`nil` while it had not ended): boundaries whose
    /// spans overlap ran concurrently.
    var endSeq: Int?
    /// The child run an `agents.call` created, which a resume continues inside.
    var child: RunID?
}

/// What a boundary was asked to do: what a replayed run must ask again, at the same position.
enum JournalCall: Sendable, Hashable {
    /// `digest` covers the whole request (model and every message); the prompt is for people.
    case llm(digest: String, prompt: String)
    case storeGet(StoreKey)
    /// `digest` is the value's.
    case storeSet(StoreKey, digest: String)
    case storeDelete(StoreKey)
    case storeList(namespace: String, prefix: String)
    case agent(name: String, input: JSONValue)
    case wait(seconds: Double)

    /// A call the journal holds without what identifies it (a log from before the journal):
    /// it is never replayed.
    var isUnrecorded: Bool {
        switch self {
        case .llm(let digest, _), .storeSet(_, let digest): digest.isEmpty
        default: false
        }
    }

    /// The call for an LLM request.
    static func llm(_ request: LLMRequest) -> JournalCall {
        var canonical: [JSONValue] = [request.model.map(JSONValue.string) ?? .null]
        for message in request.messages { canonical.append([.string(message.role.rawValue), .string(message.content)]) }
        let prompt = request.messages.last(where: { $0.role == .user })?.content ?? ""
        return .llm(digest: ContentDigest.of(JSONValue.array(canonical).compactJSON), prompt: prompt)
    }

    var boundary: Boundary {
        switch self {
        case .llm: .llm
        case .storeGet, .storeSet, .storeDelete, .storeList: .store
        case .agent: .agentsCall
        case .wait: .wait
        }
    }

    /// How the call reads in a divergence message: `an LLM call with the prompt "…"`.
    var description: String {
        switch self {
        case .llm(_, let prompt): "an LLM call with the prompt \"\(Self.excerpt(prompt))\""
        case .storeGet(let key): "a store read of \(key)"
        case .storeSet(let key, _): "a store write of \(key)"
        case .storeDelete(let key): "a store delete of \(key)"
        case .storeList(let namespace, let prefix): "a store list of \(namespace)/\(prefix)…"
        case .agent(let name, let input): "a call of agent \(name) with the input \(Self.excerpt(input.compactJSON))"
        case .wait(let seconds): "a wait of \(RunText.format(seconds: seconds))"
        }
    }

    static func excerpt(_ text: String) -> String {
        text.count > 120 ? String(text.prefix(119)) + "…" : text
    }

    // MARK: JSON, as `replayed` events carry it

    var json: JSONValue {
        switch self {
        case .llm(let digest, let prompt): ["llm": .string(digest), "prompt": .string(prompt)]
        case .storeGet(let key): ["op": "get", "namespace": .string(key.namespace), "key": .string(key.key)]
        case .storeSet(let key, let digest):
            ["op": "set", "namespace": .string(key.namespace), "key": .string(key.key), "digest": .string(digest)]
        case .storeDelete(let key): ["op": "delete", "namespace": .string(key.namespace), "key": .string(key.key)]
        case .storeList(let namespace, let prefix): ["op": "list", "namespace": .string(namespace), "prefix": .string(prefix)]
        case .agent(let name, let input): ["agent": .string(name), "input": input]
        case .wait(let seconds): ["wait": .number(seconds)]
        }
    }

    init?(json: JSONValue) {
        if let digest = json["llm"]?.stringValue {
            self = .llm(digest: digest, prompt: json["prompt"]?.stringValue ?? "")
        } else if let name = json["agent"]?.stringValue {
            self = .agent(name: name, input: json["input"] ?? .null)
        } else if let seconds = json["wait"]?.numberValue {
            self = .wait(seconds: seconds)
        } else if let call = Self.store(json) {
            self = call
        } else {
            return nil
        }
    }

    /// A store call from the fields a `store` event (or a replayed one) carries.
    static func store(_ data: JSONValue) -> JournalCall? {
        guard let op = data["op"]?.stringValue, let namespace = data["namespace"]?.stringValue else { return nil }
        let key = data["key"]?.stringValue.map { StoreKey(namespace: namespace, key: $0) }
        switch op {
        case "get": return key.map(JournalCall.storeGet)
        case "set": return key.flatMap { key in data["digest"]?.stringValue.map { .storeSet(key, digest: $0) } }
        case "delete": return key.map(JournalCall.storeDelete)
        case "list": return data["prefix"]?.stringValue.map { .storeList(namespace: namespace, prefix: $0) }
        default: return nil
        }
    }
}

/// What a boundary returned.
enum JournalOutcome: Sendable, Hashable {
    /// An LLM call's answer.
    case answer(LLMResponse)
    /// A store read's value.
    case value(String?)
    /// Whether a store delete found a value.
    case found(Bool)
    /// A store list's entries.
    case entries([StoreEntry])
    /// A store write or a `wait` that ended.
    case done
    /// A child run's result.
    case result(JSONValue)
    /// An error the boundary threw: an LLM call that failed, a child that failed (with
    /// `status`), or was stopped alone (`stopped`).
    case failed(message: String, childStatus: RunStatus?)

    var json: JSONValue {
        switch self {
        case .answer(let response):
            var answer: [String: JSONValue] = ["text": .string(response.text), "model": .string(response.model)]
            if let usage = response.usage { answer["usage"] = usage.json }
            return ["answer": .object(answer)]
        case .value(let value): return ["value": value.map(JSONValue.string) ?? .null]
        case .found(let found): return ["found": .bool(found)]
        case .entries(let entries): return ["entries": .array(entries.map(\.journalJSON))]
        case .done: return ["done": true]
        case .result(let result): return ["result": result]
        case .failed(let message, let status):
            return ["error": .string(message), "childStatus": status.map { .string($0.rawValue) } ?? .null]
        }
    }

    init?(json: JSONValue) {
        guard case .object(let members) = json, let (name, value) = members.first, members.count <= 2 else { return nil }
        switch name {
        case "answer":
            guard let text = value["text"]?.stringValue else { return nil }
            self = .answer(LLMResponse(text: text, model: value["model"]?.stringValue ?? "", usage: value["usage"].flatMap(TokenUsage.init(json:))))
        case "value": self = .value(value.stringValue)
        case "found":
            guard let found = value.boolValue else { return nil }
            self = .found(found)
        case "entries":
            guard let list = value.arrayValue else { return nil }
            self = .entries(list.compactMap(StoreEntry.init(journalJSON:)))
        case "done": self = .done
        case "result": self = .result(value)
        case "error", "childStatus":
            guard let message = json["error"]?.stringValue else { return nil }
            self = .failed(message: message, childStatus: json["childStatus"]?.stringValue.flatMap(RunStatus.init(rawValue:)))
        default: return nil
        }
    }

    /// The error a replay throws for a recorded failure.
    func error(call: JournalCall, child: RunID?) -> (any Error)? {
        guard case .failed(let message, let status) = self else { return nil }
        guard case .agent(let name, _) = call, let status, let child else { return ReplayedFailure(message: message) }
        if status == .stopped { return SubRunStopped(childRunID: child, agent: name) }
        return SubRunFailed(childRunID: child, agent: name, status: status, message: message)
    }
}

/// An LLM call's error, as the journal recorded it, thrown again by a replay.
public struct ReplayedFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension TokenUsage {
    /// The shape `llm.finished` events carry.
    var json: JSONValue {
        [
            "promptTokens": .number(Double(promptTokens)),
            "completionTokens": .number(Double(completionTokens)),
            "totalTokens": .number(Double(totalTokens)),
        ]
    }

    init?(json: JSONValue) {
        guard let prompt = json["promptTokens"]?.numberValue, let completion = json["completionTokens"]?.numberValue else { return nil }
        let total = json["totalTokens"]?.numberValue ?? prompt + completion
        self.init(promptTokens: Int(prompt), completionTokens: Int(completion), totalTokens: Int(total))
    }
}

extension StoreEntry {
    var journalJSON: JSONValue {
        [
            "namespace": .string(namespace), "key": .string(key), "value": .string(value),
            "updatedAt": .number(updatedAt.timeIntervalSinceReferenceDate),
        ]
    }

    init?(journalJSON json: JSONValue) {
        guard let namespace = json["namespace"]?.stringValue, let key = json["key"]?.stringValue,
            let value = json["value"]?.stringValue
        else { return nil }
        let updated = json["updatedAt"]?.numberValue.map(Date.init(timeIntervalSinceReferenceDate:)) ?? Date(timeIntervalSinceReferenceDate: 0)
        self.init(namespace: namespace, key: key, value: value, updatedAt: updated)
    }
}

/// SHA-256 of a text, in hex: how the journal recognises a request or a value without
/// keeping it twice.
enum ContentDigest {
    static func of(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }
        .joined()
    }
}
