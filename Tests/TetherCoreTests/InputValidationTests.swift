import Testing
import TetherCore

@Suite struct InputValidationTests {
    let agent = AgentDescriptor(
        name: "brief",
        description: "",
        input: [
            InputField(name: "topic", type: .string), InputField(name: "notes", type: .text),
            InputField(name: "count", type: .number), InputField(name: "loud", type: .boolean),
        ]
    ) { fatalError("not run") }

    @Test func aCompleteInputPassesWithBooleansDefaulted() throws {
        let input = try agent.validatedInput(["topic": "owls", "notes": "line 1\nline 2", "count": 3])
        #expect(input == ["topic": "owls", "notes": "line 1\nline 2", "count": 3, "loud": false])
    }

    static let badInputs: [(JSONValue, String)] = [
        (["notes": "n", "count": 1], "input.topic is required"),
        (["topic": "  ", "notes": "n", "count": 1], "input.topic is required"),
        (["topic": "a\nb", "notes": "n", "count": 1], "input.topic must be one line of text"),
        (["topic": 5, "notes": "n", "count": 1], "input.topic must be text, not a number"),
        (["topic": "t", "notes": "n", "count": "3"], "input.count must be a number, not text"),
        (["topic": "t", "notes": "n", "count": 1, "loud": "yes"], "input.loud must be true or false, not text"),
        (
            ["topic": "t", "notes": "n", "count": 1, "extra": 1],
            "input.extra is not a field of agent 'brief' (its fields: topic, notes, count, loud)"
        ),
        ("just text", "the input must be a JSON object of fields"),
    ]

    @Test(arguments: Self.badInputs)
    func aBadInputIsRefusedWithAClearMessage(input: JSONValue, message: String) {
        #expect(throws: InputError(message)) { try agent.validatedInput(input) }
    }

    @Test func formPostsMayGiveNumbersAndBooleansAsText() throws {
        let input = try agent.validatedInput(["topic": "t", "notes": "n", "count": " 2.5 ", "loud": "on"], coercingStrings: true)
        #expect(input == ["topic": "t", "notes": "n", "count": 2.5, "loud": true])
        #expect(throws: InputError("input.count must be a number, not 'many'")) {
            try agent.validatedInput(["topic": "t", "notes": "n", "count": "many"], coercingStrings: true)
        }
    }

    @Test func anAgentWithoutDeclaredFieldsTakesAnyObject() throws {
        let open = AgentDescriptor(name: "open", description: "") { fatalError("not run") }
        #expect(try open.validatedInput(["anything": [1, 2]]) == ["anything": [1, 2]])
    }
}
