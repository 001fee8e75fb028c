import AsyncHTTPClient
import Foundation
import Testing
import TetherCore
import TetherTestSupport

/// Event streams are limited per run and in all (issue 13): one more is
/// `429 too_many_subscribers`, and a stream that goes away gives its place back.
@Suite struct SubscriberLimitTests {
    @Test func streamsPastTheLimitsAreRefusedUntilOneCloses() async throws {
        let llm = GatedLLM()
        let configuration = testConfiguration {
            $0.maxSubscribersPerRun = 2
            $0.maxSubscribers = 3
        }
        try await withLiveServer(configuration: configuration, agents: TestAgents.all, llm: llm, keepAlive: .milliseconds(50)) {
            server,
            _ in
            let first = try await server.startRun("one-call")
            let second = try await server.startRun("one-call")
            /// Opens a stream and keeps reading it until cancelled; returns its status.
            func open(_ id: RunID) -> (Task<Void, any Error>, AsyncStream<Int>) {
                let (statuses, continuation) = AsyncStream.makeStream(of: Int.self)
                let task = Task {
                    let response = try await server.get("/runs/\(id)/events")
                    continuation.yield(Int(response.status.code))
                    for try await _ in response.body {}
                }
                return (task, statuses)
            }
            func status(_ statuses: AsyncStream<Int>) async -> Int? {
                var iterator = statuses.makeAsyncIterator()
                return await iterator.next()
            }
            let (a1, s1) = open(first)
            let (a2, s2) = open(first)
            let opened = [await status(s1), await status(s2)]
            #expect(opened == [200, 200])
            let perRun = try await server.get("/runs/\(first)/events")
            #expect(perRun.status == .tooManyRequests, "a third stream of one run")
            let body = try await JSONDecoder().decode(JSONValue.self, from: Data(buffer: perRun.body.collect(upTo: 1 << 16)))
            #expect(body["error"]?["code"] == "too_many_subscribers")

            let (b1, t1) = open(second)
            #expect(await status(t1) == 200)
            let total = try await server.get("/runs/\(second)/events")
            #expect(total.status == .tooManyRequests, "a fourth stream in all")

            // One goes away; the server notices at its next keep-alive and frees the place.
            a1.cancel()
            try await withTimeout {
                while try await server.get("/runs/\(second)/events").status == .tooManyRequests { await Task.yield() }
            }
            llm.openAll()
            a2.cancel()
            b1.cancel()
        }
    }
}
