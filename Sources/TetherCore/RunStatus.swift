/// Where a run is in its life (DESIGN §2). Monotonic: `running` → `stopping` → one of the
/// four terminal statuses, or `running` straight to a terminal one.
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    /// Executing.
    case running
    /// A stop was requested for the run or an ancestor; it halts at its next boundary.
    case stopping
    /// Returned a result.
    case succeeded
    /// Ended by an error that is not a stop.
    case failed
    /// Ended because a stop was requested for it or an ancestor. Shown gray, never red.
    case stopped
    /// The process ended before the run could finish (crash, or shutdown past the grace period).
    case interrupted

    /// Whether the run has ended; a terminal status never changes again.
    public var isTerminal: Bool {
        switch self {
        case .running, .stopping: false
        case .succeeded, .failed, .stopped, .interrupted: true
        }
    }

    /// Whether the run is executing (`running` or `stopping`).
    public var isInFlight: Bool { !isTerminal }

    /// Whether a run with this status can next have `next`: statuses only move forward
    /// (`running` → `stopping` → terminal, or `running` → terminal), so nothing that shows a
    /// run's status ever walks it back.
    public func canChange(to next: RunStatus) -> Bool {
        switch (self, next) {
        case (.running, .running), (.stopping, .running), (.stopping, .stopping): false
        case (.running, _), (.stopping, _): true
        case (.succeeded, _), (.failed, _), (.stopped, _), (.interrupted, _): false
        }
    }
}

extension RunStatus {
    /// The chip's text label (DESIGN §2: every chip has one).
    public var label: String {
        switch self {
        case .running: "Running"
        case .stopping: "Stopping…"
        case .succeeded: "Succeeded"
        case .failed: "Failed"
        case .stopped: "Stopped"
        case .interrupted: "Interrupted"
        }
    }

    /// What a person sees on the Stop control (and in the terminal) while a run is
    /// `stopping` (DESIGN §5).
    public static let stoppingNotice = "Stopping… (after current LLM call completes)"
}
