import TetherCore

/// The checks that need more than one step or more than one file: every variable read is
/// defined earlier in scope, every called agent exists and takes the input it is given,
/// and no definition calls into itself, directly or through others.
enum DefinitionValidator {
    /// A `call` step with where it stands.
    struct CallSite {
        var path: String
        var agent: String
        var fields: [String]
    }

    // MARK: Variables

    /// Checks that every template, `each` source and `return` reads a variable defined
    /// before it: `input` (and its declared fields), an earlier `as`, or the loop variable
    /// of an enclosing `each`. Names set inside an `each` are local to its `do`.
    static func checkVariables(of definition: AgentDefinition) throws(DefinitionError) {
        let fields = definition.input.map(\.name)
        var scope: Set<String> = ["input"]
        try check(definition.steps, path: "steps", scope: &scope, fields: fields, file: definition.file)
    }

    private static func check(
        _ steps: [Step],
        path: String,
        scope: inout Set<String>,
        fields: [String],
        file: String
    ) throws(DefinitionError) {
        for (index, step) in steps.enumerated() {
            let here = "\(path)[\(index)] (\(step.kind))"
            func read(_ template: Template?) throws(DefinitionError) {
                for reference in template?.references ?? [] { try resolve(reference) }
            }
            func resolve(_ reference: VariablePath) throws(DefinitionError) {
                guard scope.contains(reference.root) else {
                    let known = scope.sorted().joined(separator: ", ")
                    throw DefinitionError(
                        file: file,
                        path: here,
                        reason: "unknown variable '\(reference)' (defined here: \(known))"
                    )
                }
                if reference.root == "input", reference.components.count > 1, !fields.contains(reference.components[1]) {
                    let list = fields.isEmpty ? "it declares none" : "its fields: \(fields.joined(separator: ", "))"
                    throw DefinitionError(
                        file: file,
                        path: here,
                        reason: "unknown variable '\(reference)': no input field '\(reference.components[1])' (\(list))"
                    )
                }
            }
            switch step {
            case .llm(let prompt, let system, let name):
                try read(prompt)
                try read(system)
                if let name { scope.insert(name) }
            case .storeGet(let key, let name), .storeList(let key, let name):
                try read(key)
                scope.insert(name)
            case .storeSet(let key, let value):
                try read(key)
                try read(value)
            case .storeDelete(let key, let name):
                try read(key)
                if let name { scope.insert(name) }
            case .call(_, let input, let name):
                for (_, argument) in input {
                    if case .template(let template) = argument { try read(template) }
                }
                if let name { scope.insert(name) }
            case .each(let source, let name, let inner):
                try resolve(source)
                var innerScope = scope
                innerScope.insert(name)
                try check(inner, path: "\(path)[\(index)].do", scope: &innerScope, fields: fields, file: file)
            case .log(let template), .return(let template):
                try read(template)
            case .wait:
                break
            }
        }
    }

    // MARK: Calls

    static func callSites(in steps: [Step], path: String = "steps") -> [CallSite] {
        steps.enumerated().flatMap { index, step -> [CallSite] in
            switch step {
            case .call(let agent, let input, _):
                [CallSite(path: "\(path)[\(index)] (call)", agent: agent, fields: input.map(\.field))]
            case .each(_, _, let inner):
                callSites(in: inner, path: "\(path)[\(index)].do")
            default:
                []
            }
        }
    }

    /// Splits `definitions` into those whose calls are sound and those rejected, given the
    /// agents registered in Swift (name → declared fields, `nil` for unchecked input).
    /// - Parameter alreadyRejected: files rejected earlier (their callers are rejected too).
    static func checkCalls(
        _ definitions: [AgentDefinition],
        otherAgents: [String: [InputField]?],
        alreadyRejected: [DefinitionError] = []
    ) -> (valid: [AgentDefinition], rejected: [DefinitionError]) {
        var byName = Dictionary(definitions.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var rejected: [DefinitionError] = []

        // Calls into itself, directly or through other definitions.
        for definition in definitions {
            if let cycle = cycle(from: definition.name, in: byName) {
                let site = callSites(in: definition.steps).first { $0.agent == cycle[1] }
                let reason =
                    cycle.count == 2
                    ? "calls itself"
                    : "calls itself through \(cycle.joined(separator: " → "))"
                rejected.append(DefinitionError(file: definition.file, path: site?.path ?? "", reason: reason))
            }
        }
        for error in rejected { byName = byName.filter { $0.value.file != error.file } }

        // Unknown agents, wrong input fields, and callers of rejected definitions, until
        // nothing changes.
        var changed = true
        while changed {
            changed = false
            for definition in byName.values.sorted(by: { $0.name < $1.name }) {
                if let error = firstBadCall(
                    in: definition,
                    byName: byName,
                    otherAgents: otherAgents,
                    rejected: alreadyRejected + rejected
                ) {
                    rejected.append(error)
                    byName[definition.name] = nil
                    changed = true
                }
            }
        }
        let valid = definitions.filter { byName[$0.name]?.file == $0.file }
        return (valid, rejected.sorted { $0.file < $1.file })
    }

    private static func firstBadCall(
        in definition: AgentDefinition,
        byName: [String: AgentDefinition],
        otherAgents: [String: [InputField]?],
        rejected: [DefinitionError]
    ) -> DefinitionError? {
        for site in callSites(in: definition.steps) {
            let fields: [InputField]?
            if let callee = byName[site.agent] {
                fields = callee.input
            } else if let swiftFields = otherAgents[site.agent] {
                fields = swiftFields
            } else if rejected.contains(where: { $0.file == "\(site.agent).json" }) {
                return DefinitionError(
                    file: definition.file,
                    path: site.path,
                    reason: "calls agent '\(site.agent)', which was rejected"
                )
            } else {
                return DefinitionError(file: definition.file, path: site.path, reason: "calls unknown agent '\(site.agent)'")
            }
            guard let fields else { continue }
            let names = fields.map(\.name)
            if let unknown = site.fields.first(where: { !names.contains($0) }) {
                return DefinitionError(
                    file: definition.file,
                    path: site.path,
                    reason: "agent '\(site.agent)' has no input field '\(unknown)' (its fields: \(names.joined(separator: ", ")))"
                )
            }
            if let missing = fields.first(where: { $0.type != .boolean && !site.fields.contains($0.name) }) {
                return DefinitionError(
                    file: definition.file,
                    path: site.path,
                    reason: "agent '\(site.agent)' needs input field '\(missing.name)'"
                )
            }
        }
        return nil
    }

    /// The shortest chain of calls from `start` back to itself (`[start, …, start]`).
    private static func cycle(from start: String, in byName: [String: AgentDefinition]) -> [String]? {
        var queue: [[String]] = [[start]]
        var seen: Set<String> = []
        while !queue.isEmpty {
            let chain = queue.removeFirst()
            for callee in byName[chain.last!]?.calledAgents ?? [] {
                if callee == start { return chain + [start] }
                if byName[callee] != nil, seen.insert(callee).inserted { queue.append(chain + [callee]) }
            }
        }
        return nil
    }
}
