import Foundation
import HummingbirdTesting
import Testing
import TetherApp
import TetherCore
import TetherRuntime
import TetherTestSupport

/// Every run tree keeps an account of its LLM calls (issue 17, part 1): against a loopback
/// chat server that reports 11 prompt and 7 completion tokens a call.
@Suite struct UsageTests {
    static let resume = ResumeTests()

    func withUsageServer(
        prices: String? = nil,
        _ body: @escaping @Sendable (any TestClientProtocol, RunSupervisor, HeldChatServer) async throws -> Void
    ) async throws {
        let chat = try await HeldChatServer.start(holdAnswers: false, answer: ResumeTests.echo)
        let pricesFile = FileManager.default.temporaryDirectory.appendingPathComponent("prices-\(UUID()).json")
        if let prices { try prices.write(to: pricesFile, atomically: true, encoding: .utf8) }
        defer { try? FileManager.default.removeItem(at: pricesFile) }
        try await Self.resume.withResumeServer(chat, settings: { if prices != nil { $0.pricesFile = pricesFile.path } }) { client, supervisor in
            try await body(client, supervisor, chat)
        }
        await chat.shutdown()
    }

    @Test func usageSumsOverATreeWithItsChildrenAndHasNoCostWithoutPrices() async throws {
        try await withUsageServer { client, supervisor, chat in
            let id = try await client.startRun("chain", input: #"{"topic": "owls"}"#)
            let record = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(record.status == .succeeded && chat.state.requests.count == 4)
            let usage = try #require(record.usage)
            #expect(usage.run.llmCalls == 2 && usage.run.totalTokens == 36 && usage.run.promptTokens == 22)
            #expect(usage.tree.llmCalls == 4 && usage.tree.totalTokens == 72 && usage.tree.completionTokens == 28)
            #expect(usage.tree.cost == nil && usage.tree.seconds > 0)
            let child = try #require(try await supervisor.subtree(of: id).last)
            #expect(child.usage?.run == child.usage?.tree && child.usage?.run.llmCalls == 2)

            let json = try await client.execute(uri: "/runs/\(id)", method: .get).json()
            #expect(json["usage"]?["tree"]?["llmCalls"] == 4 && json["usage"]?["tree"]?["cost"] == .null)
            let frames = SSEFrame.parse(try await client.execute(uri: "/runs/\(id)/events", method: .get).text)
            let done = try #require(frames.last?.json)
            #expect(frames.last?.event == "done" && done["usage"]?["tree"]?["totalTokens"] == 72)
            let finished = frames.ofEvent("progress").compactMap(\.json).filter { $0["kind"] == "llm.finished" }
            #expect(finished.count == 4 && finished.allSatisfy { $0["data"]?["cost"] == nil })

            let browser = try await BrowserSession.open(client)
            let page = try await browser.page("/runs/\(id)")
            let line = try #require(page.node("//p[@id='run-usage']"))
            #expect(line.text.hasPrefix("Usage: 4 LLM calls · 72 tokens (44 prompt, 28 completion) · "), "\(line.text)")
            #expect(!line.text.contains("cost") && line.attributes["data-cost"] == "")
        }
    }

    @Test func pricesGiveEachCallAndTheTreeACost() async throws {
        try await withUsageServer(prices: #"{"test-model": {"prompt": 1000, "completion": 2000}}"#) { client, supervisor, _ in
            let id = try await client.startRun("multi", input: #"{"topic": "owls"}"#)
            let record = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            // (11 × 1,000 + 7 × 2,000) / 1,000,000 = 0.025 a call.
            let cost = try #require(record.usage?.tree.cost)
            #expect(abs(cost - 0.075) < 1e-9)
            let events = try #require(try await client.execute(uri: "/runs/\(id)", method: .get).json()["events"]?.arrayValue)
            let costs = events.filter { $0["kind"] == "llm.finished" }.compactMap { $0["data"]?["cost"]?.numberValue }
            #expect(costs.count == 3 && costs.allSatisfy { abs($0 - 0.025) < 1e-9 })
            let page = try await BrowserSession.open(client).page("/runs/\(id)")
            #expect(page.node("//span[@id='run-usage-text']")?.text.hasSuffix("cost 0.0750") == true)
        }
    }

    @Test func aPricesFileTetherCannotUseIsRefusedWithTheReason() throws {
        #expect(throws: PricesError.self) { try LLMPrices(json: "[1, 2]") }
        #expect(throws: PricesError.self) { try LLMPrices(json: #"{"m": {"prompt": -1, "completion": 2}}"#) }
        #expect(throws: PricesError.self) { try LLMPrices(json: #"{"m": {"prompt": 1}}"#) }
        let prices = try LLMPrices(json: #"{"m": {"prompt": 2, "completion": 4}}"#)
        #expect(prices.cost(of: TokenUsage(promptTokens: 500_000, completionTokens: 250_000, totalTokens: 750_000), model: "m") == 2)
        #expect(
            prices.cost(of: nil, model: "m") == nil
                && prices.cost(of: TokenUsage(promptTokens: 1, completionTokens: 1, totalTokens: 2), model: "x") == nil
        )
        var count = UsageCount()
        count.add(TokenUsage(promptTokens: 1, completionTokens: 1, totalTokens: 2), seconds: 1, cost: 0.5)
        count.add(TokenUsage(promptTokens: 1, completionTokens: 1, totalTokens: 2), seconds: 1, cost: nil)
        #expect(count.cost == nil && count.llmCalls == 2, "a cost is known only while every call has one")
    }
}
