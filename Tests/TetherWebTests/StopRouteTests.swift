import Hummingbird
import HummingbirdTesting
import Testing
import TetherCore
import TetherRuntime
import TetherTestSupport

@Suite struct StopRouteTests {
    @Test func stopAnswers202AndIsIdempotentThen409OnceFinished() async throws {
        let llm = GatedLLM()
        try await withServer(agents: TestAgents.all, llm: llm) { client, supervisor in
            let id = try await client.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(1) }
            for _ in 0..<2 {
                let response = try await client.execute(uri: "/runs/\(id)/stop", method: .post)
                #expect(response.status == .accepted)
                #expect(try response.json() == ["runId": .string(id.rawValue), "status": "stopping", "forced": false])
            }
            llm.openAll()
            let final = try await withTimeout { try await supervisor.waitUntilFinished(id) }
            #expect(final.status == .stopped)
            let late = try await client.execute(uri: "/runs/\(id)/stop", method: .post)
            #expect(late.status == .conflict)
            #expect(
                try late.json() == [
                    "status": "stopped",
                    "error": ["code": "run_finished", "message": .string("run \(id) has already finished: stopped"), "status": "stopped"],
                ]
            )
            let unknown = try await client.execute(uri: "/runs/\(RunID())/stop", method: .post)
            #expect(unknown.status == .notFound && unknown.errorCode == "not_found")
            let events = try await supervisor.allEvents(ofTree: id)
            #expect(events.filter { $0.kind == .stopRequested }.count == 1)
        }
    }

    @Test func forceStopsAtOnceAndRecordsIt() async throws {
        let llm = GatedLLM()
        try await withServer(agents: TestAgents.all, llm: llm) { client, supervisor in
            let id = try await client.startRun("one-call")
            try await withTimeout { await llm.waitForCalls(1) }
            let bad = try await client.execute(uri: "/runs/\(id)/stop?force=maybe", method: .post)
            #expect(bad.status == .badRequest)
            let response = try await client.execute(uri: "/runs/\(id)/stop?force=true", method: .post)
            #expect(response.status == .accepted)
            #expect(try response.json() == ["runId": .string(id.rawValue), "status": "stopped", "forced": true])
            let record = try await client.execute(uri: "/runs/\(id)", method: .get).json()
            #expect(record["status"] == "stopped" && record["forced"] == true)
        }
    }
}
