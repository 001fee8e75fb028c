import Foundation
import Testing
import TetherCore

/// The one table of what events stand for (`ProgressEvent+Meaning.swift`), which the event
/// stream, the screen and the terminal printer all read.
@Suite struct EventMeaningTests {
    static let run = RunID()
    static let child = RunID()

    static func event(_ kind: EventKind, _ data: [String: JSONValue] = [:], seq: Int = 1, run: RunID = run) -> ProgressEvent {
        ProgressEvent(seq: seq, runID: run, at: Date(), kind: kind, message: kind.rawValue, data: data)
    }

    @Test func aStartedRunIsRunning() {
        #expect(Self.event(.runStarted).statusChanges == [StatusChange(runID: Self.run, status: .running)])
    }

    @Test func aStopRequestMakesEveryListedRunStopping() {
        let event = Self.event(.stopRequested, ["runIds": [.string(Self.run.rawValue), .string(Self.child.rawValue)]])
        #expect(
            event.statusChanges == [
                StatusChange(runID: Self.run, status: .stopping), StatusChange(runID: Self.child, status: .stopping),
            ]
        )
    }

    @Test func aStopRequestWithoutItsListStopsItsOwnRun() {
        #expect(Self.event(.stopRequested).statusChanges == [StatusChange(runID: Self.run, status: .stopping)])
    }

    @Test(arguments: [RunStatus.succeeded, .failed, .stopped, .interrupted])
    func aFinishedRunHasTheStatusItsEventNames(status: RunStatus) {
        let event = Self.event(.runFinished, ["status": .string(status.rawValue), "error": "boom", "result": "x"])
        #expect(event.statusChanges == [StatusChange(runID: Self.run, status: status)])
        #expect(event.outcome == RunOutcome(runID: Self.run, status: status, result: "x", error: "boom"))
    }

    @Test func aFinishedEventWithoutAStatusChangesNothing() {
        #expect(Self.event(.runFinished, ["status": "sideways"]).statusChanges.isEmpty)
        #expect(Self.event(.runFinished).outcome == nil)
    }

    @Test(arguments: EventKind.allCases.filter { ![.runStarted, .stopRequested, .runFinished].contains($0) })
    func otherKindsChangeNoStatus(kind: EventKind) {
        #expect(Self.event(kind, ["status": "failed", "runIds": [.string(Self.child.rawValue)]]).statusChanges.isEmpty)
        #expect(Self.event(kind).outcome == nil)
    }

    @Test func aCallNamesTheChildItCreated() {
        #expect(Self.event(.agentCalled, ["runId": .string(Self.child.rawValue)]).calledChild == Self.child)
        #expect(Self.event(.agentReturned, ["runId": .string(Self.child.rawValue)]).calledChild == nil)
        #expect(Self.event(.agentCalled).calledChild == nil)
    }

    @Test func stepEffectsOfEveryKind() {
        let table: [EventKind: StepEffect] = [
            .runStarted: .closes, .llmStarted: .opens, .llmFinished: .closes, .llmFailed: .closes, .store: .closes,
            .agentCalled: .keeps, .agentReturned: .closes, .log: .keeps, .wait: .opens, .stopRequested: .keeps,
            .runFinished: .closes, .waitEnded: .closes, .replayed: .closes,
        ]
        #expect(Set(table.keys) == Set(EventKind.allCases), "every kind is in the table")
        for kind in EventKind.allCases { #expect(kind.stepEffect == table[kind], "\(kind.rawValue)") }
    }

    @Test func openStepsFollowEachRunsLastOpeningEvent() {
        let events = [
            Self.event(.llmStarted, seq: 1),
            Self.event(.log, seq: 2),
            Self.event(.agentCalled, seq: 3),
            Self.event(.wait, seq: 4, run: Self.child),
            Self.event(.stopRequested, seq: 5),
        ]
        #expect(events.openSteps() == [Self.run: 1, Self.child: 4])
        #expect((events + [Self.event(.llmFinished, seq: 6)]).openSteps() == [Self.child: 4])
        #expect((events + [Self.event(.runFinished, seq: 6, run: Self.child)]).openSteps() == [Self.run: 1])
    }
}
