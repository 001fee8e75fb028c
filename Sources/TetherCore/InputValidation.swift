/// Why a run's input was refused, before any run started.
public struct InputError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension AgentDescriptor {
    /// Checks `input` against the agent's fields and returns it normalised: every declared
    /// field present with its type, booleans defaulting to `false`.
    ///
    /// `string` and `text` fields are required and may not be blank; `number` fields are
    /// required; a missing `boolean` is `false` (an unticked checkbox sends nothing). With
    /// `coercingStrings` (form posts, where every value is text) `"3"` is a number and
    /// `"true"`/`"on"`/`"1"` a boolean; JSON clients get no such leniency. Fields the agent
    /// does not declare are refused. An agent with no declared fields (`input == nil`) takes
    /// any JSON object.
    public func validatedInput(_ input: JSONValue, coercingStrings: Bool = false) throws(InputError) -> JSONValue {
        let members: [String: JSONValue]
        switch input {
        case .object(let object): members = object
        case .null: members = [:]
        default: throw InputError("the input must be a JSON object of fields")
        }
        guard let fields = self.input else { return .object(members) }
        let names = fields.map(\.name)
        if let unknown = members.keys.sorted().first(where: { !names.contains($0) }) {
            let list = names.isEmpty ? "it takes no input" : "its fields: \(names.joined(separator: ", "))"
            throw InputError("input.\(unknown) is not a field of agent '\(name)' (\(list))")
        }
        var result: [String: JSONValue] = [:]
        for field in fields {
            result[field.name] = try field.validate(members[field.name], coercingStrings: coercingStrings)
        }
        return .object(result)
    }
}

extension InputField {
    func validate(_ value: JSONValue?, coercingStrings: Bool) throws(InputError) -> JSONValue {
        let label = "input.\(name)"
        switch (type, value) {
        case (.string, .string(let text)?), (.text, .string(let text)?):
            guard !text.allSatisfy(\.isWhitespace) else { throw InputError("\(label) is required") }
            if type == .string, text.contains(where: \.isNewline) {
                throw InputError("\(label) must be one line of text")
            }
            return .string(text)
        case (.number, .number(let number)?):
            return .number(number)
        case (.number, .string(let text)?) where coercingStrings:
            let trimmed = text.trimmingWhitespace
            if trimmed.isEmpty { throw InputError("\(label) is required") }
            guard let number = Double(trimmed), number.isFinite else {
                throw InputError("\(label) must be a number, not '\(text)'")
            }
            return .number(number)
        case (.boolean, .bool(let flag)?):
            return .bool(flag)
        case (.boolean, nil), (.boolean, .null?):
            return .bool(false)
        case (.boolean, .string(let text)?) where coercingStrings:
            switch text.trimmingWhitespace.lowercased() {
            case "true", "on", "1", "yes": return .bool(true)
            case "false", "off", "0", "no", "": return .bool(false)
            default: throw InputError("\(label) must be true or false, not '\(text)'")
            }
        case (_, nil), (_, .null?):
            throw InputError("\(label) is required")
        case (_, let other?):
            throw InputError("\(label) must be \(type.article), not \(other.kindName)")
        }
    }
}

extension InputField.FieldType {
    /// "a number", "text", … for error messages.
    var article: String {
        switch self {
        case .string, .text: "text"
        case .number: "a number"
        case .boolean: "true or false"
        }
    }
}

extension JSONValue {
    /// "a number", "text", … for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "text"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
