import Foundation

/// What a run's LLM calls cost, counted as they finish (DESIGN §2): for the run itself and
/// for its whole subtree. A replayed call (a resumed run's) costs nothing and is not counted.
public struct RunUsage: Sendable, Hashable, Codable {
    /// The run's own calls.
    public var run: UsageCount
    /// The calls of the run and of every run below it.
    public var tree: UsageCount

    public init(run: UsageCount = UsageCount(), tree: UsageCount = UsageCount()) {
        self.run = run
        self.tree = tree
    }

    /// `{run, tree}`: the shape records, events, the `done` frame and the stores share.
    public var json: JSONValue { ["run": run.json, "tree": tree.json] }

    public init?(json: JSONValue) {
        guard let run = json["run"].flatMap(UsageCount.init(json:)), let tree = json["tree"].flatMap(UsageCount.init(json:)) else {
            return nil
        }
        self.init(run: run, tree: tree)
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    public init(from decoder: any Decoder) throws {
        guard let usage = Self(json: try JSONValue(from: decoder)) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a run's usage"))
        }
        self = usage
    }
}

/// LLM calls and their tokens, as providers report them, the seconds they took, and their
/// cost where every call's model has a price (`TETHER_PRICES`); without prices, `cost` is
/// absent, not zero.
public struct UsageCount: Sendable, Hashable, Codable {
    public var llmCalls: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    /// Seconds the calls took, added up.
    public var seconds: Double
    /// In the prices' unit (per million tokens in the file, so dollars for dollar prices).
    public var cost: Double?

    public init(llmCalls: Int = 0, promptTokens: Int = 0, completionTokens: Int = 0, totalTokens: Int = 0, seconds: Double = 0, cost: Double? = nil) {
        self.llmCalls = llmCalls
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
        self.seconds = seconds
        self.cost = cost
    }

    /// Counts one finished call. A cost stays known only while every call has one.
    public mutating func add(_ usage: TokenUsage?, seconds: Double, cost: Double?) {
        let priced = llmCalls == 0 ? cost : self.cost.flatMap { total in cost.map { total + $0 } }
        llmCalls += 1
        promptTokens += usage?.promptTokens ?? 0
        completionTokens += usage?.completionTokens ?? 0
        totalTokens += usage?.totalTokens ?? 0
        self.seconds += seconds
        self.cost = priced
    }

    /// Every key, `cost` as `null` when unknown.
    public var json: JSONValue {
        [
            "llmCalls": .number(Double(llmCalls)), "promptTokens": .number(Double(promptTokens)),
            "completionTokens": .number(Double(completionTokens)), "totalTokens": .number(Double(totalTokens)),
            "seconds": .number(seconds), "cost": cost.map(JSONValue.number) ?? .null,
        ]
    }

    public init?(json: JSONValue) {
        guard let calls = json["llmCalls"]?.numberValue, let prompt = json["promptTokens"]?.numberValue,
            let completion = json["completionTokens"]?.numberValue, let total = json["totalTokens"]?.numberValue,
            let seconds = json["seconds"]?.numberValue
        else { return nil }
        self.init(
            llmCalls: Int(calls),
            promptTokens: Int(prompt),
            completionTokens: Int(completion),
            totalTokens: Int(total),
            seconds: seconds,
            cost: json["cost"]?.numberValue
        )
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    public init(from decoder: any Decoder) throws {
        guard let count = Self(json: try JSONValue(from: decoder)) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a usage count"))
        }
        self = count
    }

    /// `10 LLM calls · 997 tokens (612 prompt, 385 completion) · 4.1 s · cost 0.0042`.
    public var summary: String {
        var parts = [llmCalls == 1 ? "1 LLM call" : "\(NumberText.grouped(llmCalls)) LLM calls"]
        parts.append(
            "\(NumberText.grouped(totalTokens)) tokens (\(NumberText.grouped(promptTokens)) prompt, \(NumberText.grouped(completionTokens)) completion)"
        )
        parts.append(seconds < 10 ? String(format: "%.1f s in calls", seconds) : "\(Int(seconds.rounded())) s in calls")
        // Four decimals: prices per million tokens make small sums.
        if let cost { parts.append(String(format: "cost %.4f", cost)) }
        return parts.joined(separator: " · ")
    }
}

/// Prices per model (`TETHER_PRICES`): per million prompt tokens and per million completion
/// tokens, in whatever unit the file uses.
public struct LLMPrices: Sendable, Hashable {
    public struct Price: Sendable, Hashable, Codable {
        public var prompt: Double
        public var completion: Double

        public init(prompt: Double, completion: Double) {
            self.prompt = prompt
            self.completion = completion
        }
    }

    public var byModel: [String: Price]

    public init(_ byModel: [String: Price]) {
        self.byModel = byModel
    }

    /// Reads `{"model": {"prompt": 2.5, "completion": 10}, …}`.
    /// - Throws: a description of what is wrong with the text.
    public init(json text: String) throws(PricesError) {
        guard case .object(let models)? = try? JSONValue.parse(text) else {
            throw PricesError(reason: "it must be a JSON object of model → {\"prompt\": price, \"completion\": price}")
        }
        var prices: [String: Price] = [:]
        for (model, value) in models {
            guard let prompt = value["prompt"]?.numberValue, let completion = value["completion"]?.numberValue, prompt >= 0, completion >= 0
            else {
                throw PricesError(reason: "model \(model) needs \"prompt\" and \"completion\" prices per million tokens, each a number ≥ 0")
            }
            prices[model] = Price(prompt: prompt, completion: completion)
        }
        byModel = prices
    }

    /// The cost of a call to `model` (or, if it has no price, `fallback`), or `nil` when
    /// neither has a price or the provider reported no usage.
    public func cost(of usage: TokenUsage?, model: String, fallback: String? = nil) -> Double? {
        guard let usage, let price = byModel[model] ?? fallback.flatMap({ byModel[$0] }) else { return nil }
        return (Double(usage.promptTokens) * price.prompt + Double(usage.completionTokens) * price.completion) / 1_000_000
    }
}

/// A prices file Tether cannot use.
public struct PricesError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
