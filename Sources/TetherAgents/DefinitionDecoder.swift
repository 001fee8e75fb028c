import TetherCore

/// Turns a parsed file into an ``AgentDefinition``, checking its shape: required members,
/// known step kinds, the types of values. Variables and calls are checked afterwards by
/// ``DefinitionValidator``, which sees every file.
struct DefinitionDecoder {
    let file: String

    static let stepKinds = ["llm", "store_get", "store_set", "store_delete", "store_list", "call", "each", "log", "wait", "return"]
    /// The members each step kind allows besides its own.
    static let stepOptions: [String: Set<String>] = [
        "llm": ["system", "as"], "store_get": ["as"], "store_set": ["value"], "store_delete": ["as"],
        "store_list": ["as"], "call": ["input", "as"], "each": ["as", "do"], "log": [], "wait": [], "return": [],
    ]

    func fail(_ path: String, _ reason: String) -> DefinitionError {
        DefinitionError(file: file, path: path, reason: reason)
    }

    func decode(_ text: String) throws(DefinitionError) -> AgentDefinition {
        let root: JSONNode
        do { root = try JSONNode.parse(text) } catch { throw fail("", "not valid JSON: \(error)") }
        guard case .object(let members) = root else { throw fail("", "the file must hold one JSON object") }
        let allowed: Set<String> = ["name", "description", "input", "steps", "budget"]
        if let unknown = members.first(where: { !allowed.contains($0.key) }) {
            throw fail("", "unknown member \"\(unknown.key)\" (expected name, description, input, steps, budget)")
        }
        let object = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })

        guard case .string(let name)? = object["name"] else { throw fail("name", "a name (text) is required") }
        let expectedName = file.hasSuffix(".json") ? String(file.dropLast(5)) : file
        guard name == expectedName else {
            throw fail("name", "the name '\(name)' does not match the file name (expected '\(expectedName)')")
        }
        guard name.range(of: "^[a-z0-9][a-z0-9_-]*$", options: .regularExpression) != nil else {
            throw fail("name", "'\(name)' is not a valid agent name (lower-case letters, digits, '-' and '_')")
        }
        var description = ""
        switch object["description"] {
        case nil: break
        case .string(let text)?: description = text
        default: throw fail("description", "must be text")
        }
        let input = try decodeInput(object["input"])
        guard case .array(let stepNodes)? = object["steps"] else { throw fail("steps", "a list of steps is required") }
        guard !stepNodes.isEmpty else { throw fail("steps", "the list of steps is empty") }
        let steps = try decodeSteps(stepNodes, path: "steps")
        var budget: RunBudget?
        if let node = object["budget"] {
            do throws(BudgetError) {
                let parsed = try RunBudget.parse(node.value)
                guard parsed.lifted.isEmpty else { throw BudgetError("a definition's budget limit cannot be null: leave it out") }
                budget = parsed.budget
            } catch {
                throw fail("budget", error.description)
            }
        }
        return AgentDefinition(name: name, description: description, input: input, steps: steps, budget: budget, file: file)
    }

    func decodeInput(_ node: JSONNode?) throws(DefinitionError) -> [InputField] {
        guard let node else { return [] }
        guard case .object(let members) = node else {
            throw fail("input", "must be an object of field names and types")
        }
        var fields: [InputField] = []
        for (name, typeNode) in members {
            guard Identifier.isValid(name) else { throw fail("input.\(name)", "'\(name)' is not a valid field name") }
            let types = InputField.FieldType.allCases.map(\.rawValue).joined(separator: ", ")
            guard case .string(let typeName) = typeNode, let type = InputField.FieldType(rawValue: typeName) else {
                throw fail("input.\(name)", "unknown field type (expected one of \(types))")
            }
            fields.append(InputField(name: name, type: type))
        }
        return fields
    }

    func decodeSteps(_ nodes: [JSONNode], path: String) throws(DefinitionError) -> [Step] {
        var steps: [Step] = []
        for (index, node) in nodes.enumerated() {
            steps.append(try decodeStep(node, path: "\(path)[\(index)]"))
        }
        return steps
    }

    func decodeStep(_ node: JSONNode, path: String) throws(DefinitionError) -> Step {
        guard case .object(let members) = node else { throw fail(path, "a step must be an object") }
        let kinds = members.map(\.key).filter { Self.stepKinds.contains($0) }
        guard kinds.count == 1, let kind = kinds.first else {
            if kinds.count > 1 { throw fail(path, "one step names several kinds: \(kinds.joined(separator: ", "))") }
            let first = members.first?.key ?? ""
            throw fail(path, "unknown step kind '\(first)' (expected one of \(Self.stepKinds.joined(separator: ", ")))")
        }
        let options = Self.stepOptions[kind]!
        if let unknown = members.first(where: { $0.key != kind && !options.contains($0.key) }) {
            let allowed = options.isEmpty ? "none" : options.sorted().joined(separator: ", ")
            throw fail(path, "'\(kind)' step does not take \"\(unknown.key)\" (it takes: \(allowed))")
        }
        let object = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        let here = "\(path) (\(kind))"
        switch kind {
        case "llm":
            return .llm(
                prompt: try template(object[kind], here, kind),
                system: try object["system"].map { node throws(DefinitionError) in try template(node, here, "system") },
                as: try name(object["as"], here, required: false)
            )
        case "store_get":
            return .storeGet(key: try template(object[kind], here, kind), as: try name(object["as"], here, required: true)!)
        case "store_set":
            guard object["value"] != nil else { throw fail(here, "\"value\" is required") }
            return .storeSet(key: try template(object[kind], here, kind), value: try template(object["value"], here, "value"))
        case "store_delete":
            return .storeDelete(key: try template(object[kind], here, kind), as: try name(object["as"], here, required: false))
        case "store_list":
            return .storeList(prefix: try template(object[kind], here, kind), as: try name(object["as"], here, required: true)!)
        case "call":
            guard case .string(let agent)? = object[kind], !agent.isEmpty else {
                throw fail(here, "\"call\" must name an agent")
            }
            var arguments: [(field: String, value: CallArgument)] = []
            switch object["input"] {
            case nil: break
            case .object(let fields)?:
                for (field, value) in fields {
                    if case .string(let text) = value {
                        arguments.append((field, .template(try parse(text, here, "input.\(field)"))))
                    } else {
                        arguments.append((field, .literal(value.value)))
                    }
                }
            default: throw fail(here, "\"input\" must be an object of field values")
            }
            return .call(agent: agent, input: arguments, as: try name(object["as"], here, required: false))
        case "each":
            guard case .string(var source)? = object[kind] else { throw fail(here, "\"each\" must name a variable") }
            if source.hasPrefix("{{"), source.hasSuffix("}}") { source = String(source.dropFirst(2).dropLast(2).trimmingSpaces) }
            guard let sourcePath = VariablePath(source) else { throw fail(here, "'\(source)' is not a variable name") }
            guard case .array(let inner)? = object["do"] else { throw fail(here, "\"do\" (a list of steps) is required") }
            guard !inner.isEmpty else { throw fail(here, "\"do\" is empty") }
            return .each(
                source: sourcePath,
                as: try name(object["as"], here, required: true)!,
                steps: try decodeSteps(inner, path: "\(path).do")
            )
        case "log":
            return .log(try template(object[kind], here, kind))
        case "wait":
            guard case .number(let seconds)? = object[kind], seconds >= 0, seconds <= 86_400 else {
                throw fail(here, "\"wait\" must be a number of seconds from 0 to 86400")
            }
            return .wait(seconds: seconds)
        default:
            return .return(try template(object[kind], here, kind))
        }
    }

    func template(_ node: JSONNode?, _ path: String, _ member: String) throws(DefinitionError) -> Template {
        guard case .string(let text)? = node else { throw fail(path, "\"\(member)\" must be text") }
        return try parse(text, path, member)
    }

    func parse(_ text: String, _ path: String, _ member: String) throws(DefinitionError) -> Template {
        do { return try Template(parsing: text) } catch { throw fail(path, "\"\(member)\": \(error.reason)") }
    }

    func name(_ node: JSONNode?, _ path: String, required: Bool) throws(DefinitionError) -> String? {
        guard let node else {
            if required { throw fail(path, "\"as\" (a variable name) is required") }
            return nil
        }
        guard case .string(let name) = node, Identifier.isValid(name) else {
            throw fail(path, "\"as\" must be a variable name (letters, digits and '_')")
        }
        guard name != "input" else { throw fail(path, "\"as\" cannot be 'input', which holds the run's input") }
        return name
    }
}
