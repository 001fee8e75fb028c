import Synchronization
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

/// What a test observer heard of a call.
final class HeardPieces: LLMCallObserver {
    let pieces = Mutex<[String]>([])
    func received(_ text: String) { pieces.withLock { $0.append(text) } }
}

extension SimulatedLLMTests {
    @Test func itStreamsWordByWordAndTheWordsAreExactlyTheAnswer() async throws {
        let observer = HeardPieces()
        let request = LLMRequest(prompt: "List three subtopics of owls, one per line.")
        let response = try await llm.complete(request, observer: observer)
        let pieces = observer.pieces.withLock { $0 }
        #expect(pieces.joined() == response.text)
        #expect(pieces.count == response.text.split(whereSeparator: \.isWhitespace).count, "one chunk per word")
        #expect(pieces.dropFirst().allSatisfy { $0.first?.isWhitespace == true }, "each later word comes with the space before it")
        #expect(try await llm.complete(request).text == response.text, "the same answer unobserved")
    }

    @Test func theWordsOfAnAnswerKeepItsEveryCharacter() {
        let text = "  Tide\npools\t hold  héllo 🌍. "
        let words = SimulatedText.words(of: text)
        #expect(words.joined() == text)
        #expect(words == ["  Tide", "\npools", "\t hold", "  héllo", " 🌍.", " "])
    }
}
