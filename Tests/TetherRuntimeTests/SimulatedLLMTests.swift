import Testing
import TetherCore

@testable import TetherRuntime

@Suite struct SimulatedLLMTests {
    let llm = SimulatedLLM(latency: .zero)

    @Test func theSamePromptAlwaysGetsTheSameAnswer() async throws {
        let first = try await llm.complete(LLMRequest(prompt: "Write two sentences about tide pools."))
        let second = try await llm.complete(LLMRequest(prompt: "Write two sentences about tide pools."))
        #expect(first.text == second.text)
        #expect(first.text.contains("tide pools"))
        #expect(first.usage.map { $0.totalTokens == $0.promptTokens + $0.completionTokens } == true)
    }

    @Test(arguments: [("List three subtopics of owls, one per line.", 3), ("List 5 risks of dams, one per line", 5)])
    func aListPromptGetsThatManyDistinctLines(prompt: String, lines: Int) async throws {
        let text = try await llm.complete(LLMRequest(prompt: prompt)).text
        let answer = text.split(separator: "\n")
        #expect(answer.count == lines)
        #expect(Set(answer).count == lines)
    }

    @Test func itSaysItIsSimulated() {
        #expect(llm.provider == "simulated")
    }
}
