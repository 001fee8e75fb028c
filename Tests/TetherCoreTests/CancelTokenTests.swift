import Synchronization
import Testing
import TetherCore

@Suite struct CancelTokenTests {
    @Test func onlyTheFirstStopRequestCounts() {
        let token = CancelToken()
        let calls = Mutex(0)
        _ = token.onStop { calls.withLock { $0 += 1 } }
        #expect(token.requestStop())
        #expect(!token.requestStop())
        #expect(calls.withLock { $0 } == 1)
        #expect(token.isStopRequested)
    }

    @Test func checkStopThrowsAgentStoppedNamingTheBoundary() {
        let token = CancelToken()
        #expect(throws: Never.self) { try token.checkStop(at: .llm) }
        token.requestStop()
        #expect(throws: AgentStopped(boundary: .store)) { try token.checkStop(at: .store) }
    }

    @Test func aStopReachesEveryDescendantButNotTheParent() {
        let root = CancelToken()
        let child = root.makeChild()
        let grandchild = child.makeChild()
        let sibling = root.makeChild()
        child.requestStop()
        #expect(child.isStopRequested && grandchild.isStopRequested)
        #expect(!root.isStopRequested && !sibling.isStopRequested)
        root.requestStop()
        #expect(sibling.isStopRequested)
    }

    @Test func aChildOfAStoppedTokenIsBornStopped() {
        let root = CancelToken()
        root.requestStop()
        #expect(root.makeChild().isStopRequested)
    }

    @Test func aDetachedChildNoLongerFollowsItsParent() {
        let root = CancelToken()
        let child = root.makeChild()
        child.detachFromParent()
        root.requestStop()
        #expect(!child.isStopRequested)
    }

    @Test func aHandlerRegisteredAfterTheStopRunsAtOnce() {
        let token = CancelToken()
        token.requestStop()
        let ran = Mutex(false)
        let registration = token.onStop { ran.withLock { $0 = true } }
        #expect(registration == nil)
        #expect(ran.withLock { $0 })
    }

    @Test func aRemovedHandlerDoesNotRun() {
        let token = CancelToken()
        let ran = Mutex(false)
        let registration = token.onStop { ran.withLock { $0 = true } }
        token.removeHandler(registration!)
        token.requestStop()
        #expect(!ran.withLock { $0 })
    }

    @Test func stopRequestedWakesAWaiterWhenTheStopComes() async {
        let token = CancelToken()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await token.stopRequested() }
            group.addTask { token.requestStop() }
            await group.waitForAll()
        }
        #expect(token.isStopRequested)
    }

    @Test func stopRequestedReturnsWhenItsTaskIsCancelled() async {
        let token = CancelToken()
        let task = Task { await token.stopRequested() }
        task.cancel()
        await task.value
        #expect(!token.isStopRequested)
    }

    @Test func theTaskLocalTokenIsSeenByChildTasksButNotDetachedOnes() async {
        let token = CancelToken()
        await CancelToken.$current.withValue(token) {
            async let inChild = CancelToken.current === token
            let inTask = await Task { CancelToken.current === token }.value
            let inDetached = await Task.detached { CancelToken.current === token }.value
            #expect(await inChild)
            #expect(inTask)
            #expect(!inDetached)
        }
    }

    @Test func withStopHandlerRunsTheHandlerOnStopAndUnregistersAfter() async {
        let token = CancelToken()
        let count = Mutex(0)
        await CancelToken.$current.withValue(token) {
            await withStopHandler {
                token.requestStop()
            } onStop: {
                count.withLock { $0 += 1 }
            }
        }
        #expect(count.withLock { $0 } == 1)
    }
}
