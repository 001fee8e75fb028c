import Foundation

/// Limits on what a run tree may spend (DESIGN §6): LLM calls, total tokens, wall-clock
/// seconds and cost, each optional. Reaching one requests the same cooperative stop a person
/// would, with reason `budget`: the call in flight finishes (and counts), the next boundary
/// throws, and the tree ends `stopped`.
///
/// A budget belongs to a root run and covers its whole tree. It comes from the server's
/// defaults (`TETHER_BUDGET_*`), then the agent's definition, then the run's request, each
/// limit the later one names replacing the earlier (``overriding(_:)``).
///
/// Its JSON is the definition's: `{"llm_calls", "tokens", "seconds", "cost"}`, with only the
/// limits set; requests may also write `llmCalls`.
public struct RunBudget: Sendable, Hashable, Codable {
    /// One kind of limit, named as in JSON and in `stop.requested`'s `limit`.
    public enum Limit: String, Sendable, Hashable, CaseIterable {
        case llmCalls = "llm_calls"
        case tokens
        case seconds
        case cost

        /// `token budget`, as in "Stopped: token budget of 200,000 reached".
        public var noun: String {
            switch self {
            case .llmCalls: "LLM call budget"
            case .tokens: "token budget"
            case .seconds: "time budget"
            case .cost: "cost budget"
            }
        }

        /// `200,000`, `600 s`, `2.5`: a limit's or a count's value as people read it.
        public func format(_ value: Double) -> String {
            switch self {
            case .llmCalls, .tokens: return NumberText.grouped(Int(value.rounded()))
            case .seconds:
                return value == value.rounded() ? "\(NumberText.grouped(Int(value))) s" : "\(Self.decimals(value, upTo: 3)) s"
            case .cost:
                return value == value.rounded() ? String(format: "%.1f", value) : Self.decimals(value, upTo: 6)
            }
        }

        /// `0.05` for 0.05000000000000001: at most `places` decimals, no trailing zeros.
        static func decimals(_ value: Double, upTo places: Int) -> String {
            var text = String(format: "%.\(places)f", value)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text
        }
    }

    /// The limits set, by kind; a kind absent has no limit.
    public private(set) var limits: [Limit: Double]

    public init(_ limits: [Limit: Double] = [:]) {
        self.limits = limits
    }

    public init(llmCalls: Int? = nil, tokens: Int? = nil, seconds: Double? = nil, cost: Double? = nil) {
        var limits: [Limit: Double] = [:]
        limits[.llmCalls] = llmCalls.map(Double.init)
        limits[.tokens] = tokens.map(Double.init)
        limits[.seconds] = seconds
        limits[.cost] = cost
        self.init(limits)
    }

    public subscript(limit: Limit) -> Double? {
        get { limits[limit] }
        set { limits[limit] = newValue }
    }

    public var isEmpty: Bool { limits.isEmpty }

    /// This budget's limits, and `base`'s where this one names none.
    public func overriding(_ base: RunBudget) -> RunBudget {
        RunBudget(base.limits.merging(limits) { _, mine in mine })
    }

    /// The first limit `usage` has reached (`used >= limit`), in the order calls, tokens,
    /// cost; wall time is a deadline of its own (``seconds``). A cost limit applies only
    /// while the cost is known.
    public func reached(by usage: UsageCount) -> Reached? {
        let used: [(Limit, Double?)] = [
            (.llmCalls, Double(usage.llmCalls)), (.tokens, Double(usage.totalTokens)), (.cost, usage.cost),
        ]
        for (limit, value) in used {
            if let budget = limits[limit], let value, value >= budget { return Reached(limit: limit, budget: budget, used: value) }
        }
        return nil
    }

    /// `40 LLM calls · 200,000 tokens · 600 s · cost 2.0`: the limits set.
    public var summary: String {
        Limit.allCases.compactMap { limit in
            limits[limit].map { value in
                switch limit {
                case .llmCalls: value == 1 ? "1 LLM call" : "\(limit.format(value)) LLM calls"
                case .tokens: "\(limit.format(value)) tokens"
                case .seconds: limit.format(value)
                case .cost: "cost \(limit.format(value))"
                }
            }
        }
        .joined(separator: " · ")
    }

    /// The wall-time limit, in seconds from the root run's start.
    public var seconds: Double? { limits[.seconds] }

    /// A limit that was reached: which, its value and what had been used.
    public struct Reached: Sendable, Hashable {
        public var limit: Limit
        public var budget: Double
        public var used: Double

        public init(limit: Limit, budget: Double, used: Double) {
            self.limit = limit
            self.budget = budget
            self.used = used
        }

        /// `token budget of 200,000 reached`.
        public var sentence: String { "\(limit.noun) of \(limit.format(budget)) reached" }

        /// What `stop.requested` and the record's `stopReason` carry besides `reason`.
        public var json: [String: JSONValue] {
            ["limit": .string(limit.rawValue), "budget": .number(budget), "used": .number(used)]
        }

        public init?(json: JSONValue) {
            guard let name = json["limit"]?.stringValue, let limit = Limit(rawValue: name),
                let budget = json["budget"]?.numberValue
            else { return nil }
            self.init(limit: limit, budget: budget, used: json["used"]?.numberValue ?? budget)
        }
    }

    // MARK: JSON

    /// `{"llm_calls": 40, "tokens": 200000}`: the limits set.
    public var json: JSONValue {
        .object(Dictionary(uniqueKeysWithValues: limits.map { ($0.key.rawValue, JSONValue.number($0.value)) }))
    }

    /// A run's own limits over its agent's: those it sets, and those it lifts (`null`).
    public struct Override: Sendable, Hashable {
        public var budget: RunBudget
        public var lifted: Set<Limit>

        public init(budget: RunBudget = RunBudget(), lifted: Set<Limit> = []) {
            self.budget = budget
            self.lifted = lifted
        }

        /// `base` with these limits set and lifted.
        public func applied(to base: RunBudget) -> RunBudget {
            var result = budget.overriding(base)
            for limit in lifted { result[limit] = nil }
            return result
        }
    }

    /// Reads a budget object. A limit given as `null` is absent and listed in `lifted`, so a
    /// request can lift a limit its definition sets.
    /// - Throws: ``BudgetError`` naming the key: an unknown key, a value that is not a
    ///   positive number, a fractional count.
    public static func parse(_ json: JSONValue) throws(BudgetError) -> Override {
        guard case .object(let fields) = json else { throw BudgetError("a budget must be an object of limits") }
        var budget = RunBudget()
        var lifted: Set<Limit> = []
        for (key, value) in fields {
            guard let limit = Limit(rawValue: key == "llmCalls" ? Limit.llmCalls.rawValue : key) else {
                throw BudgetError("unknown budget limit \"\(key)\": use llm_calls, tokens, seconds or cost")
            }
            if value == .null {
                lifted.insert(limit)
                continue
            }
            budget[limit] = try Self.value(value, of: limit)
        }
        return Override(budget: budget, lifted: lifted)
    }

    /// A limit's value: a positive number, whole for counts. Text is read as a number (form
    /// fields, settings).
    public static func value(_ json: JSONValue, of limit: Limit) throws(BudgetError) -> Double {
        let number: Double?
        switch json {
        case .number(let value): number = value
        case .string(let text): number = Double(text.trimmingCharacters(in: .whitespaces))
        default: number = nil
        }
        guard let number, number.isFinite, number > 0 else {
            throw BudgetError("budget \(limit.rawValue) must be a number above 0")
        }
        if limit == .llmCalls || limit == .tokens {
            guard number == number.rounded(), number <= 1e15 else {
                throw BudgetError("budget \(limit.rawValue) must be a whole number above 0")
            }
        }
        return number
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    public init(from decoder: any Decoder) throws {
        do {
            self = try Self.parse(try JSONValue(from: decoder)).budget
        } catch let error as BudgetError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }
}

/// A budget that cannot be read, with the reason.
public struct BudgetError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
