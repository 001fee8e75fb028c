import TetherCore

/// The supervisor's limits (DESIGN §8).
public struct SupervisorConfiguration: Sendable, Hashable {
    /// Root runs in flight at once (`TETHER_MAX_RUNS`); one more is refused.
    public var maxRuns: Int
    /// Nested agent calls (`TETHER_MAX_DEPTH`); a deeper call fails its caller.
    public var maxDepth: Int
    /// How long a run may stay `stopping` before a force stop is offered
    /// (`TETHER_STOP_GRACE_SECONDS`); also how long shutdown waits for runs to stop before
    /// marking them `interrupted`.
    public var stopGrace: Duration
    /// How long a run cut short (a force stop, shutdown past the grace period) may take to
    /// unwind and run its `cleanup()` before its final record is written anyway
    /// (`TETHER_CLEANUP_TIMEOUT_SECONDS`).
    public var cleanupTimeout: Duration
    /// The instance recorded in each run (`TETHER_INSTANCE_ID`) when there is no cluster to
    /// name it.
    public var instanceID: String?
    /// Whether runs marked `interrupted` by a restart, or by another instance after this
    /// one's lease expired, are resumed from their journals (`TETHER_RESUME_INTERRUPTED`).
    public var resumesInterrupted: Bool
    /// Prices per model (`TETHER_PRICES`), for the cost in runs' usage; `nil`: no cost.
    public var prices: LLMPrices?
    /// The limits of every root run whose agent or request sets none (`TETHER_BUDGET_*`).
    public var budget: RunBudget

    public init(
        maxRuns: Int = 64,
        maxDepth: Int = 8,
        stopGrace: Duration = .seconds(30),
        cleanupTimeout: Duration = .seconds(10),
        instanceID: String? = nil,
        resumesInterrupted: Bool = false,
        prices: LLMPrices? = nil,
        budget: RunBudget = RunBudget()
    ) {
        self.maxRuns = maxRuns
        self.maxDepth = maxDepth
        self.stopGrace = stopGrace
        self.cleanupTimeout = cleanupTimeout
        self.instanceID = instanceID
        self.resumesInterrupted = resumesInterrupted
        self.prices = prices
        self.budget = budget
    }
}
