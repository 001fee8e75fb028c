import Synchronization
import TetherCore

/// A fake provider whose calls suspend until the test opens them. It records, for each call,
/// whether its task was cancelled by the time it returned, so a stop implemented with
/// `Task.cancel()` is caught.
public final class GatedLLM: LLMClient {
    public struct Snapshot: Sendable {
        public var calls: [String] = []
        public var returned = 0
        /// `Task.isCancelled` at the moment each call returned.
        public var cancelledAtReturn: [Bool] = []
        var opened: Set<Int> = []
        var openAll = false
    }

    public let provider = "gated"
    public let defaultModel = "gated-model"
    private let snapshot = Condition(Snapshot())

    public init() {}

    public var state: Snapshot { snapshot.value }

    public func complete(_ request: LLMRequest) async throws -> LLMResponse {
        let prompt = request.messages.last?.content ?? ""
        let index = snapshot.update { state in
            state.calls.append(prompt)
            return state.calls.count - 1
        }
        await snapshot.wait { $0.openAll || $0.opened.contains(index) }
        let cancelled = Task.isCancelled
        snapshot.update { state in
            state.returned += 1
            state.cancelledAtReturn.append(cancelled)
        }
        try Task.checkCancellation()
        return LLMResponse(text: "answer \(index + 1) to: \(prompt)", model: defaultModel)
    }

    /// Returns once `count` calls have begun.
    public func waitForCalls(_ count: Int) async {
        await snapshot.wait { $0.calls.count >= count }
    }

    /// Returns once `count` calls have returned (or thrown).
    public func waitForReturns(_ count: Int) async {
        await snapshot.wait { $0.returned >= count }
    }

    /// Lets call `index` (0-based) return.
    public func open(_ index: Int) {
        snapshot.update { _ = $0.opened.insert(index) }
    }

    /// Lets every call, waiting or future, return.
    public func openAll() {
        snapshot.update { $0.openAll = true }
    }
}
