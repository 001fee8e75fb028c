import TetherCore

/// Runs an ``AgentDefinition`` step by step through the run's ``Tools``, so every step stops
/// at the same boundaries as a Swift agent does.
public struct DefinitionAgent: Agent {
    public let definition: AgentDefinition

    public init(definition: AgentDefinition) {
        self.definition = definition
    }

    public func run(input: JSONValue, tools: Tools) async throws -> JSONValue {
        var scope: [String: JSONValue] = ["input": input]
        return try await execute(definition.steps, path: "steps", scope: &scope, tools: tools) ?? .null
    }

    /// Runs `steps` in order; returns the value of a `return` step, which ends the run.
    private func execute(
        _ steps: [Step],
        path: String,
        scope: inout [String: JSONValue],
        tools: Tools
    ) async throws -> JSONValue? {
        for (index, step) in steps.enumerated() {
            let here = "\(path)[\(index)]"
            switch step {
            case .llm(let prompt, let system, let name):
                let request = LLMRequest(
                    prompt: render(prompt, scope),
                    system: system.map { render($0, scope) },
                    label: name
                )
                let answer = try await tools.llm.chat(request).text
                if let name { scope[name] = .string(answer) }
            case .storeGet(let key, let name):
                scope[name] = try await tools.store.get(render(key, scope)).map(JSONValue.string) ?? .null
            case .storeSet(let key, let value):
                try await tools.store.set(render(key, scope), to: render(value, scope))
            case .storeDelete(let key, let name):
                let existed = try await tools.store.delete(render(key, scope))
                if let name { scope[name] = .bool(existed) }
            case .storeList(let prefix, let name):
                let entries = try await tools.store.list(render(prefix, scope))
                scope[name] = .array(entries.map { ["key": .string($0.key), "value": .string($0.value)] })
            case .call(let agent, let arguments, let name):
                var input: [String: JSONValue] = [:]
                for (field, argument) in arguments {
                    switch argument {
                    case .literal(let value): input[field] = value
                    case .template(let template): input[field] = value(of: template, scope)
                    }
                }
                let result = try await tools.agents.call(agent, input: .object(input))
                if let name { scope[name] = result }
            case .each(let source, let name, let inner):
                let items = try Self.items(of: lookup(source, scope), source: source, path: here)
                for (position, item) in items.enumerated() {
                    try await tools.log(
                        "\(name) \(position + 1) of \(items.count): \(Self.excerpt(item.text))",
                        data: ["step": .string(here), "index": .number(Double(position + 1)), "count": .number(Double(items.count))]
                    )
                    var innerScope = scope
                    innerScope[name] = item
                    if let result = try await execute(inner, path: "\(here).do", scope: &innerScope, tools: tools) {
                        return result
                    }
                }
            case .log(let template):
                try await tools.log(render(template, scope), data: ["step": .string(here)])
            case .wait(let seconds):
                try await tools.wait(for: .milliseconds(Int64((seconds * 1000).rounded())))
            case .return(let template):
                return value(of: template, scope)
            }
        }
        return nil
    }

    /// The template's text with each reference replaced, verbatim.
    func render(_ template: Template, _ scope: [String: JSONValue]) -> String {
        template.parts.map { part in
            switch part {
            case .text(let text): text
            case .reference(let path): lookup(path, scope).text
            }
        }.joined()
    }

    /// A sole reference keeps its value (a list stays a list); anything else is text.
    func value(of template: Template, _ scope: [String: JSONValue]) -> JSONValue {
        if let path = template.soleReference { return lookup(path, scope) }
        return .string(render(template, scope))
    }

    /// The variable's value; a member of a non-object, or a missing one, is `null` (the
    /// validator already made sure the variable itself exists).
    func lookup(_ path: VariablePath, _ scope: [String: JSONValue]) -> JSONValue {
        var value = scope[path.root] ?? .null
        for member in path.components.dropFirst() {
            value = value[member] ?? .null
        }
        return value
    }

    /// The items `each` goes through: a list's elements, or a text's non-blank lines
    /// without list markers (`- `, `* `, `1. `, `2) `), which LLMs like to add.
    static func items(of value: JSONValue, source: VariablePath, path: String) throws -> [JSONValue] {
        switch value {
        case .array(let items):
            return items
        case .string(let text):
            return text.split(whereSeparator: \.isNewline)
                .map { stripListMarker(String($0)) }
                .filter { !$0.isEmpty }
                .map(JSONValue.string)
        case .null:
            return []
        default:
            throw DefinitionRunError(path: path, reason: "'\(source)' is \(value.kindName), not a list or text")
        }
    }

    static func stripListMarker(_ line: String) -> String {
        var text = Substring(line).trimmingSpaces
        if let first = text.first, "-*•".contains(first), text.dropFirst().first == " " {
            text = text.dropFirst(2)
        } else if let marker = text.firstIndex(where: { !$0.isNumber }), marker > text.startIndex,
            ".)".contains(text[marker]), text[text.index(after: marker)...].first == " "
        {
            text = text[text.index(after: marker)...]
        }
        return String(text.trimmingSpaces)
    }

    static func excerpt(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.count > 80 ? String(line.prefix(79)) + "…" : line
    }
}

/// A definition step that could not run with the values it got (the run fails with it).
public struct DefinitionRunError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "\(path): \(reason)" }
}
