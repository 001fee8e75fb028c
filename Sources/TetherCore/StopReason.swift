/// Why a run's stop was requested (DESIGN §2): `stop.requested`'s `reason`, and the record's
/// `stopReason`.
public enum StopReason: Sendable, Hashable, Codable {
    /// A person or client asked for it.
    case requested
    /// The process is shutting down.
    case shutdown
    /// The tree reached a limit of its budget.
    case budget(RunBudget.Reached)

    /// `requested`, `shutdown` or `budget`.
    public var name: String {
        switch self {
        case .requested: "requested"
        case .shutdown: "shutdown"
        case .budget: "budget"
        }
    }

    /// `{"reason": "budget", "limit": "tokens", "budget": 200000, "used": 201234,
    /// "message": "token budget of 200,000 reached"}`; a requested stop has `reason` alone.
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["reason": .string(name)]
        if case .budget(let reached) = self { fields.merge(reached.json) { _, new in new } }
        if let explanation { fields["message"] = .string(explanation) }
        return .object(fields)
    }

    public init?(json: JSONValue) {
        switch json["reason"]?.stringValue {
        case "requested": self = .requested
        case "shutdown": self = .shutdown
        case "budget":
            guard let reached = RunBudget.Reached(json: json) else { return nil }
            self = .budget(reached)
        default: return nil
        }
    }

    /// What the screen says after "Stopped": `token budget of 200,000 reached`; `nil` for a
    /// stop a person asked for.
    public var explanation: String? {
        switch self {
        case .requested: nil
        case .shutdown: "the server shut down"
        case .budget(let reached): reached.sentence
        }
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    public init(from decoder: any Decoder) throws {
        guard let reason = Self(json: try JSONValue(from: decoder)) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a stop reason"))
        }
        self = reason
    }
}
