import Foundation
import TetherCore

extension RunExecution {
    /// Marks this run and its live descendants `stopping`, logs one `stop.requested` naming
    /// this run, every run that changed and why, then sets this run's token, which stops its
    /// descendants' tokens too.
    ///
    /// The marking is one step with every boundary's entry check in the tree
    /// (``EventLog/exclusively(_:)``): from then on the runs listed refuse new boundaries,
    /// and a child being created is either listed or refused its call. Store operations
    /// admitted before it log their events first (``EventLog/waitForAdmitted()``), so no
    /// boundary's event of a listed run ever follows the `stop.requested`.
    /// - Throws: ``SupervisorError/runFinished(_:_:)`` when the run has already ended; a run
    ///   already stopping is left as it is.
    func requestStop(reason: StopReason) async throws(SupervisorError) {
        let now = Date()
        let marking: Result<[RunExecution], SupervisorError>? = log.exclusively {
            switch markStopping(at: now, reason: reason) {
            case .alreadyFinished(let status): return .failure(.runFinished(id, status))
            case .alreadyStopping: return nil
            case .markStopping:
                var changed = [self]
                for descendant in environment.live.subtree(of: self).dropFirst() {
                    if case .markStopping = descendant.markStopping(at: now, reason: reason) { changed.append(descendant) }
                }
                return .success(changed)
            }
        }
        guard let marking else { return }
        let changed = try marking.get()
        await log.waitForAdmitted()
        let halts = "the run halts at its next boundary (an LLM call in flight finishes first)"
        let message: String
        switch reason {
        case .requested: message = "Stop requested; \(halts)"
        case .shutdown: message = "Stop requested: the server is shutting down"
        case .budget(let reached):
            message = "Stop requested: \(reached.sentence) (\(reached.limit.format(reached.used)) used); \(halts)"
        }
        var data = reason.json.objectValue ?? [:]
        data[ProgressEvent.Key.runIDs] = .array(changed.map { .string($0.id.rawValue) })
        // A stop that cannot be logged still stops: the run then fails at its next boundary
        // with the storage error, which is no worse than stopping.
        try? emit(.stopRequested, message, data)
        token.requestStop()
        for run in changed { await run.persist() }
        environment.logger.info("stop requested", metadata: ["run": "\(id)", "reason": "\(reason.name)"])
    }

    /// The root run of this run's tree while it is in flight here.
    var liveRoot: RunExecution? {
        var run: RunExecution? = self
        while let current = run, let parent = current.parentID {
            run = environment.live[parent]
        }
        return run
    }

    /// After a call was counted: stops the tree if its usage reached a limit of the root's
    /// budget. Several calls may reach it together; the first stop stands.
    func enforceBudget() async {
        guard let root = liveRoot, let budget = root.record.budget, let usage = root.record.usage?.tree,
            let reached = budget.reached(by: usage)
        else { return }
        try? await root.requestStop(reason: .budget(reached))
    }

    /// For an LLM call's entry, with a budget of LLM calls: takes a place for the call on the
    /// root, in the same step as the call's entry check and its `llm.started` (the tree's log
    /// runs them one at a time), so that calls made side by side (a Swift agent's task group)
    /// cannot all begin past the limit. A call that would pass it throws at its boundary, and
    /// ``stopForCallBudget(_:)`` then requests the tree's stop: the calls in flight finish.
    func takeCallPlace() throws -> CallPlace? {
        guard let root = liveRoot else { return nil }
        switch root.reserveCall() {
        case .unlimited: return nil
        case .taken: return CallPlace(root: root)
        case .reached(let reached): throw CallBudgetReached(reached: reached, stop: gate.stopped(at: .llm))
        }
    }

    /// A call found the budget of LLM calls used up (``takeCallPlace()``): requests the stop
    /// and throws the boundary's ``AgentStopped``.
    func stopForCallBudget(_ reached: CallBudgetReached) async -> AgentStopped {
        try? await liveRoot?.requestStop(reason: .budget(reached.reached))
        return reached.stop
    }

    /// Sets a root run's budget going, once it started: stops the tree (as
    /// ``enforceBudget()``) once the budget's wall time has passed, and says in the log when a
    /// cost limit cannot apply (no prices). Returns at once; the timer ends with the run.
    func startBudget() throws {
        guard isRoot, let budget = record.budget else { return }
        if let cost = budget[.cost], environment.configuration.prices == nil {
            try emit(
                .log,
                "The cost budget of \(RunBudget.Limit.cost.format(cost)) does not apply: no prices are set (TETHER_PRICES)",
                ["budget": budget.json]
            )
        }
        guard let seconds = budget.seconds else { return }
        let finished = self.finished
        Task {
            let endedInTime = await within(.milliseconds(Int64((seconds * 1000).rounded())), { await finished.wait() })
            guard !endedInTime else { return }
            let reached = RunBudget.Reached(limit: .seconds, budget: seconds, used: seconds)
            try? await self.requestStop(reason: .budget(reached))
        }
    }
}

/// An LLM call that would pass its tree's budget of calls, at its boundary.
struct CallBudgetReached: Error {
    let reached: RunBudget.Reached
    let stop: AgentStopped
}

/// One LLM call's place against its tree's budget of calls (``RunExecution/takeCallPlace()``).
struct CallPlace: Sendable {
    let root: RunExecution

    /// The call was not counted: it failed, or never began.
    func leave() { root.releaseCall() }
}
