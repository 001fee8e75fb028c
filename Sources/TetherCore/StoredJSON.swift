/// How stores keep a record's JSON fields (usage, budget, stop reason): as JSON text; text
/// they cannot read is no value.
public enum StoredJSON {
    public static func text(_ usage: RunUsage) -> String { usage.json.compactJSON }
    public static func text(_ budget: RunBudget) -> String { budget.json.compactJSON }
    public static func text(_ reason: StopReason) -> String { reason.json.compactJSON }

    public static func usage(_ text: String?) -> RunUsage? {
        parsed(text).flatMap(RunUsage.init(json:))
    }

    public static func budget(_ text: String?) -> RunBudget? {
        parsed(text).flatMap { try? RunBudget.parse($0).budget }
    }

    public static func stopReason(_ text: String?) -> StopReason? {
        parsed(text).flatMap(StopReason.init(json:))
    }

    /// Stored JSON, read with Tether's own parser, as deep as Foundation allows.
    public static func value(_ text: String) throws -> JSONValue {
        try JSONValue.parse(text, limits: limits)
    }

    private static let limits = JSONLimits(depth: 512)

    private static func parsed(_ text: String?) -> JSONValue? {
        text.flatMap { try? value($0) }
    }
}
