import Foundation
import TetherCore

/// The `simulated` provider (the embedded default): it answers with deterministic text
/// derived from the prompt, so the product can be tried with no model and no key. People are
/// told it is simulated: the provider name is `simulated` and every `llm.*` event says so.
///
/// It streams word by word, the latency spread evenly over the words (the first comes after
/// one share of it); with no latency it does not pause at all. The pauses are plain
/// `Task.sleep`s: the answer streams on to its end on a cooperative stop like a real call
/// would, and only a force stop (which cancels the run's task) cuts it short.
public struct SimulatedLLM: LLMClient {
    public let provider = "simulated"
    public let defaultModel = "simulated"
    /// How long a whole answer takes.
    public var latency: Duration

    public init(latency: Duration = .milliseconds(1500)) {
        self.latency = latency
    }

    public func complete(_ request: LLMRequest) async throws -> LLMResponse {
        try await complete(request, observer: nil)
    }

    public func complete(_ request: LLMRequest, observer: any LLMCallObserver) async throws -> LLMResponse {
        try await complete(request, observer: Optional(observer))
    }

    func complete(_ request: LLMRequest, observer: (any LLMCallObserver)?) async throws -> LLMResponse {
        let prompt = request.messages.last(where: { $0.role == .user })?.content ?? ""
        let text = SimulatedText.answer(to: prompt)
        let words = SimulatedText.words(of: text)
        let pause = latency / max(1, words.count)
        for word in words {
            if pause > .zero { try await Task.sleep(for: pause) }
            observer?.received(word)
        }
        let promptTokens = request.messages.reduce(0) { $0 + SimulatedText.tokenEstimate($1.content) }
        let completionTokens = SimulatedText.tokenEstimate(text)
        return LLMResponse(
            text: text,
            model: request.model ?? defaultModel,
            usage: TokenUsage(
                promptTokens: promptTokens,
                completionTokens: completionTokens,
                totalTokens: promptTokens + completionTokens
            )
        )
    }
}

/// The text the simulated provider writes: the same prompt always gets the same answer.
///
/// A prompt asking for a list ("List three …, one per line") gets that many lines; one
/// asking for a summary gets one short paragraph; anything else gets two sentences about
/// the prompt's subject.
enum SimulatedText {
    static func answer(to prompt: String) -> String {
        let lower = prompt.lowercased()
        let subject = subject(of: prompt)
        var seed = stableHash(prompt)
        if let count = requestedLineCount(in: lower) {
            var lines: [String] = []
            var used = Set<Int>()
            while lines.count < count {
                var index = Int(seed % UInt64(listItems.count))
                while used.contains(index) { index = (index + 1) % listItems.count }
                used.insert(index)
                lines.append(listItems[index].replacingOccurrences(of: "{s}", with: subject))
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            }
            return lines.joined(separator: "\n")
        }
        if lower.contains("summar") {
            let opening = summaries[Int(seed % UInt64(summaries.count))]
            return opening.replacingOccurrences(of: "{s}", with: subject)
        }
        let first = sentences[Int(seed % UInt64(sentences.count))]
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let second = followUps[Int(seed % UInt64(followUps.count))]
        return (first + " " + second).replacingOccurrences(of: "{s}", with: subject)
    }

    /// The chunks the answer streams in: each word with the white space before it, so that
    /// they put together are exactly `text`.
    static func words(of text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        for character in text {
            if character.isWhitespace, inWord, !current.isEmpty {
                words.append(current)
                current = ""
            }
            inWord = !character.isWhitespace
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static func tokenEstimate(_ text: String) -> Int {
        max(1, (text.split(whereSeparator: \.isWhitespace).count * 4 + 2) / 3)
    }

    /// How many lines a list prompt asks for (`three`, `5`, …), or `nil` if it is no list.
    static func requestedLineCount(in lower: String) -> Int? {
        guard lower.contains("one per line") || lower.hasPrefix("list ") || lower.contains(" list ") else {
            return nil
        }
        let words = lower.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
        for word in words {
            if let number = Int(word), (1...12).contains(number) { return number }
            if let index = numberWords.firstIndex(of: String(word)) { return index + 1 }
        }
        return 3
    }

    /// What the prompt is about: the words after its first "about", "of", "on" or "for"
    /// (before any colon), up to a joining word; else the first line after a colon; else
    /// the prompt's first words.
    static func subject(of prompt: String) -> String {
        let firstLine = prompt.split(whereSeparator: \.isNewline).first.map(String.init) ?? prompt
        let parts = firstLine.components(separatedBy: ": ")
        let head = parts[0].trimmingCharacters(in: CharacterSet(charactersIn: " .?!:,\t"))
        let words = head.split(separator: " ").map(String.init)
        let markers: Set<String> = ["about", "of", "on", "for"]
        let stops: Set<String> = ["so", "that", "with", "built", "which", "one", "per", "in", "into"]
        if let marker = words.firstIndex(where: { markers.contains($0.lowercased()) }), marker + 1 < words.count {
            let rest = words[(marker + 1)...].prefix { !stops.contains($0.lowercased()) }.prefix(8)
            let subject = rest.joined(separator: " ").trimmingCharacters(in: CharacterSet(charactersIn: " .,;:"))
            if !subject.isEmpty { return subject }
        }
        if parts.count > 1 {
            let tail = parts[1...].joined(separator: ": ").split(separator: " ").prefix(8).joined(separator: " ")
            let subject = tail.trimmingCharacters(in: CharacterSet(charactersIn: " .,;:"))
            if !subject.isEmpty { return subject }
        }
        let start = words.prefix(6).joined(separator: " ")
        return start.isEmpty ? "the task" : start
    }

    /// FNV-1a, stable across processes (Swift's `Hasher` is seeded per process).
    static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    private static let numberWords = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    ]

    private static let listItems = [
        "How {s} came to be",
        "The main trade-offs in {s}",
        "Who depends on {s} today",
        "What is changing in {s}",
        "Common misconceptions about {s}",
        "How to measure progress in {s}",
        "Risks and open questions in {s}",
        "The costs behind {s}",
        "Tools and practices around {s}",
        "Lessons from past work on {s}",
        "Where {s} meets regulation",
        "First steps for a newcomer to {s}",
        "The people who shaped {s}",
    ]

    private static let sentences = [
        "{s} is easiest to understand through the problems it set out to solve.",
        "Most discussions of {s} start with its benefits, but its constraints explain more.",
        "In practice, {s} is shaped less by theory than by the habits of those who use it.",
        "The history of {s} is one of small, steady improvements rather than breakthroughs.",
        "Anyone working on {s} soon learns that the hard part is coordination, not technique.",
    ]

    private static let followUps = [
        "A useful first question is what would break if it disappeared tomorrow.",
        "Its next decade will likely be decided by cost and by who is allowed to take part.",
        "Measured carefully, its effects are real but smaller than its advocates claim.",
        "The most reliable guides are the teams that have run it for years.",
        "That is why the same ideas keep returning in slightly different forms.",
    ]

    private static let summaries = [
        "In short: {s} rewards patience, clear measurement and honest accounting of its costs.",
        "Summary: {s} is a set of trade-offs; the right choice depends on scale, budget and risk.",
        "The gist: {s} works best when its limits are understood before its promises.",
    ]
}
