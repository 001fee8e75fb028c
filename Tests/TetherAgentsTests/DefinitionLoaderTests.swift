import Foundation
import Testing
import TetherAgents
import TetherCore

@Suite struct DefinitionLoaderTests {
    static let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static let expectedRejections: [String: String] = [
        "bad-budget.json": "bad-budget.json: budget: budget tokens must be a number above 0",
        "bad-field-type.json": "bad-field-type.json: input.when: unknown field type (expected one of string, text, number, boolean)",
        "call-unknown-field.json":
            "call-unknown-field.json: steps[0] (call): agent 'valid' has no input field 'topc' (its fields: topic, depth, notes, urgent)",
        "calls-rejected.json": "calls-rejected.json: steps[0] (call): calls agent 'unknown-step', which was rejected",
        "cycle-a.json": "cycle-a.json: steps[0] (call): calls itself through cycle-a → cycle-b → cycle-a",
        "cycle-b.json": "cycle-b.json: steps[1].do[0] (call): calls itself through cycle-b → cycle-a → cycle-b",
        "loop-variable-out-of-scope.json": "loop-variable-out-of-scope.json: steps[1] (return): unknown variable 'item' (defined here: input)",
        "missing-value.json": "missing-value.json: steps[0] (store_set): \"value\" is required",
        "name-mismatch.json": "name-mismatch.json: name: the name 'something-else' does not match the file name (expected 'name-mismatch')",
        "not-json.json": "not-json.json: not valid JSON: line 5, column 5: expected ',' or ']' in a list",
        "self-call.json": "self-call.json: steps[0] (call): calls itself",
        "unclosed-template.json": "unclosed-template.json: steps[0] (log): \"log\": a '{{' is not closed by '}}'",
        "unknown-agent.json": "unknown-agent.json: steps[1] (call): calls unknown agent 'nobody'",
        "unknown-input-field.json":
            "unknown-input-field.json: steps[0] (log): unknown variable 'input.topc': no input field 'topc' (its fields: topic)",
        "unknown-step.json":
            "unknown-step.json: steps[0]: unknown step kind 'lm' (expected one of llm, store_get, store_set, store_delete, store_list, call, each, log, wait, return)",
        "unknown-variable.json": "unknown-variable.json: steps[1] (log): unknown variable 'outlin' (defined here: input, outline)",
    ]

    @Test func eachRejectionNamesTheFileTheStepAndTheReason() {
        let result = DefinitionLoader.load(directory: Self.fixtures.appendingPathComponent("rejections").path)
        let messages = Dictionary(uniqueKeysWithValues: result.rejected.map { ($0.file, $0.description) })
        #expect(messages.count == Self.expectedRejections.count)
        for (file, message) in Self.expectedRejections {
            #expect(messages[file] == message, "\(file)")
        }
        #expect(result.definitions.map(\.name) == ["valid"], "the valid one loads regardless")
    }

    @Test func theSummarySaysWhatLoadedAndWhatWasRejected() {
        let result = DefinitionLoader.load(directory: Self.fixtures.appendingPathComponent("rejections").path)
        #expect(result.summary.contains("loaded 1 agent definition from"))
        #expect(
            result.summary.contains(
                "(valid); rejected 16: bad-budget.json: budget: budget tokens must be a number above 0; bad-field-type.json: input.when: unknown field type"
            )
        )
    }

    @Test func inputFieldsKeepTheFilesOrder() throws {
        let result = DefinitionLoader.load(directory: Self.fixtures.appendingPathComponent("rejections").path)
        let valid = try #require(result.definitions.first)
        #expect(valid.input.map(\.name) == ["topic", "depth", "notes", "urgent"])
        #expect(valid.input.map(\.type) == [.string, .number, .text, .boolean])
        #expect(valid.budget == RunBudget(llmCalls: 40, tokens: 200_000))
        #expect(result.descriptors.first?.budget == valid.budget)
    }

    @Test func aMissingFolderIsReportedNotFatal() {
        let result = DefinitionLoader.load(directory: "/nonexistent/agents")
        #expect(result.definitions.isEmpty)
        #expect(result.rejected.count == 1)
        #expect(result.rejected.first?.reason.hasPrefix("the agents folder cannot be read") == true)
    }

    @Test func definitionsMayCallAgentsWrittenInSwift() {
        let swiftAgent = AgentDescriptor(name: "native", description: "", input: [InputField(name: "text", type: .text)]) {
            fatalError("not run")
        }
        let result = DefinitionLoader.load(
            files: [("caller.json", #"{"name":"caller","steps":[{"call":"native","input":{"text":"hi"}}]}"#)],
            otherAgents: [swiftAgent]
        )
        #expect(result.rejected.isEmpty)
        #expect(result.definitions.map(\.name) == ["caller"])
    }

    @Test func theShippedExamplesAllLoad() throws {
        let agents = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Agents").standardized
        let result = DefinitionLoader.load(directory: agents.path)
        #expect(result.rejected.isEmpty, "\(result.rejected)")
        #expect(result.definitions.map(\.name).sorted() == ["brief", "headline", "report", "summarize"])
    }
}

@Suite struct JSONParsingTests {
    @Test func keepsValuesAndEscapes() throws {
        let value = try JSONValue.parse(#"{"a": [1, -2.5e1, true, false, null], "b": "é\u00e9\ud83d\ude00\n\"", "c": {}}"#)
        #expect(value == ["a": [1, -25, true, false, nil], "b": "éé😀\n\"", "c": [:]])
    }

    @Test(arguments: [
        ("{\"a\": 1,}", "line 1, column 9: expected a quoted member name"),
        ("{\"a\": 1, \"a\": 2}", "line 1, column 13: the member \"a\" appears twice"),
        ("[1, 2", "line 1, column 6: unexpected end of the file inside a list"),
        ("{\"a\": \"x\ny\"}", "line 1, column 9: a control character (such as a raw newline) inside a string"),
        ("{} extra", "line 1, column 4: unexpected text after the JSON value"),
    ])
    func errorsGiveTheLineAndColumn(text: String, message: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(text) }
        do { _ = try JSONValue.parse(text) } catch { #expect(error.description == message) }
    }
}
