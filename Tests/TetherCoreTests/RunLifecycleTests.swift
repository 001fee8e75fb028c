import Foundation
import Testing
import TetherCore

@Suite struct RunLifecycleTests {
    let now = Date(timeIntervalSince1970: 1_000)

    @Test func runningToStoppingRecordsTheFirstRequestTime() {
        var lifecycle = RunLifecycle()
        #expect(lifecycle.requestStop(at: now) == .markStopping)
        #expect(lifecycle.status == .stopping)
        #expect(lifecycle.requestStop(at: now.addingTimeInterval(5)) == .alreadyStopping)
        #expect(lifecycle.stopRequestedAt == now)
    }

    @Test(arguments: [
        (RunStatus.running, RunLifecycle.Ending.returned, RunStatus.succeeded),
        (.running, .threwError, .failed),
        (.running, .threwStop, .stopped),
        (.stopping, .returned, .succeeded),
        (.stopping, .returnedAfterStop, .stopped),
        (.running, .failedToLog, .failed),
        (.stopping, .failedToLog, .failed),
        (.running, .returnedAfterStop, .stopped),
        (.stopping, .threwError, .stopped),
        (.stopping, .threwStop, .stopped),
    ])
    func finishingDecidesTheStatus(from start: RunStatus, ending: RunLifecycle.Ending, expected: RunStatus) {
        var lifecycle = RunLifecycle(status: start, stopRequestedAt: start == .stopping ? now : nil)
        #expect(lifecycle.finish(ending) == .markFinished(expected))
        #expect(lifecycle.status == expected)
        #expect(lifecycle.stopRequestedAt == (start == .stopping ? now : nil))
    }

    @Test(arguments: [RunStatus.succeeded, .failed, .stopped, .interrupted])
    func terminalStatusesNeverChange(status: RunStatus) {
        var lifecycle = RunLifecycle(status: status)
        #expect(lifecycle.requestStop(at: now) == .alreadyFinished(status))
        #expect(lifecycle.finish(.returned) == .ignore)
        #expect(lifecycle.force() == .ignore)
        #expect(lifecycle.interrupt() == .ignore)
        #expect(lifecycle.status == status)
        #expect(!lifecycle.forced)
    }

    @Test func forceStopEndsStoppedAndForced() {
        var lifecycle = RunLifecycle()
        _ = lifecycle.requestStop(at: now)
        #expect(lifecycle.force() == .markFinished(.stopped))
        #expect(lifecycle.forced)
        #expect(lifecycle.finish(.returned) == .ignore, "the run's own ending comes too late")
        #expect(lifecycle.status == .stopped)
    }

    @Test func interruptEndsInterrupted() {
        var lifecycle = RunLifecycle(status: .stopping, stopRequestedAt: now)
        #expect(lifecycle.interrupt() == .markFinished(.interrupted))
        #expect(lifecycle.status == .interrupted)
    }

    @Test func onlyTheLastFourStatusesAreTerminal() {
        #expect(RunStatus.allCases.filter(\.isTerminal) == [.succeeded, .failed, .stopped, .interrupted])
    }
}
