import Foundation
import TetherCore

/// Everything the Runs screen shows. Stored properties only: templates read them through
/// `Mirror`, which cannot see computed ones.
struct RunsPage: Sendable {
    var title: String
    var csrfToken: String
    var assetVersion: String
    var isSimulated: Bool
    var agents: [AgentLink]
    var form: RunForm?
    var run: RunPanel?
    var stop: StopControl
    var recent: [RecentRun]
    var hasRecent: Bool
    var notice: String?
    var formError: String?
    /// Whether the page refreshes itself without JavaScript (a run in flight).
    var refreshes: Bool
    /// The run history with filters and pages (`GET /runs`).
    var history: HistoryView?
}

/// `GET /runs` in a browser: filters as plain links and a GET form, pages by cursor.
struct HistoryView: Sendable {
    var statusFilters: [FilterLink]
    var agentOptions: [AgentOption]
    var runs: [RecentRun]
    var hasRuns: Bool
    var olderURL: String?
    var newestURL: String?
    var stopAllURL: String?
    var stopAllLabel: String
}

struct FilterLink: Sendable {
    var label: String
    var url: String
    var isSelected: Bool
}

struct AgentOption: Sendable {
    var name: String
    var isSelected: Bool
}

/// The confirmation before a bulk stop.
struct ConfirmStopPage: Sendable {
    var title: String
    var assetVersion: String
    var csrfToken: String
    var action: String
    var summary: String
    var runs: [RecentRun]
    var hasRuns: Bool
    var backURL: String
}

struct AgentLink: Sendable {
    var name: String
    var description: String
    var url: String
    var isSelected: Bool
}

struct RunForm: Sendable {
    var agent: String
    var description: String
    var fields: [FormField]
    var hasFields: Bool
    /// The optional Limits section (``TetherCore/RunBudget``).
    var limits: [LimitField]
    /// "Stop all runs of this agent", when some are in flight.
    var stopAllURL: String?
    var inFlightLabel: String
}

/// One field of the form's Limits.
struct LimitField: Sendable {
    var label: String
    var inputName: String
    var elementID: String
    var value: String
    var placeholder: String
    var step: String
}

struct FormField: Sendable {
    var name: String
    var inputName: String
    var elementID: String
    var value: String
    var isString: Bool
    var isText: Bool
    var isNumber: Bool
    var isBoolean: Bool
    var isChecked: Bool
    var typeLabel: String
}

/// The Stop control's state (DESIGN §5), from the server's view of the run.
struct StopControl: Sendable {
    var action: String
    var isDisabled: Bool
    var label: String
    /// The two labels the script switches between, so it never spells them itself.
    var stopLabel = "Stop"
    var stoppingLabel = Self.stoppingLabel
    var isForceOffered: Bool
    var forceAction: String

    static let stoppingLabel = RunStatus.stoppingNotice

    static func none() -> StopControl {
        StopControl(action: "/", isDisabled: true, label: "Stop", isForceOffered: false, forceAction: "/")
    }

    init(action: String, isDisabled: Bool, label: String, isForceOffered: Bool, forceAction: String) {
        self.action = action
        self.isDisabled = isDisabled
        self.label = label
        self.isForceOffered = isForceOffered
        self.forceAction = forceAction
    }

    init(for record: RunRecord, grace: Duration, now: Date) {
        action = "/runs/\(record.id)/stop"
        forceAction = "/runs/\(record.id)/stop?force=true"
        switch record.status {
        case .running:
            isDisabled = false
            label = "Stop"
            isForceOffered = false
        case .stopping:
            isDisabled = true
            label = Self.stoppingLabel
            let graceSeconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
            isForceOffered = record.stopRequestedAt.map { now.timeIntervalSince($0) >= graceSeconds } ?? false
        case .succeeded, .failed, .stopped, .interrupted:
            isDisabled = true
            label = "Stop"
            isForceOffered = false
        }
    }
}

/// The run the screen is focused on.
struct RunPanel: Sendable {
    var id: String
    var agent: String
    var chip: ChipView
    var isInFlight: Bool
    var createdAt: String
    var parentURL: String?
    var input: [InputPair]
    var hasInput: Bool
    var currentStep: String?
    var events: [EventRow]
    var lastSeq: Int
    var eventsURL: String
    /// The next page of a long log, for a browser without the script (which streams the rest).
    var nextEventsURL: String?
    var runAgainURL: String
    /// `POST /runs/{id}/resume`, for a root run; the form shows while the run ``isResumable``
    /// (the script shows it when the run ends so).
    var resumeAction: String?
    var isResumable: Bool
    /// The statuses a run can be resumed from, for the script: `stopped failed interrupted`.
    var resumableStatuses: String
    /// The run this one continues.
    var resumedFrom: RunLink?
    /// The run that resumed this one (a run is resumed once).
    var resumedAs: RunLink?
    /// The LLM usage of the run and the runs below it; the script counts on as calls finish.
    var usage: UsageView?
    /// `Limits: 200,000 tokens`, for a root run with a budget.
    var limitsText: String?
    /// Why the run's stop was requested, when it says more than that a person asked.
    var stopReason: StopReasonView?
    var result: String?
    var error: String?
    var isTerminal: Bool
    var stopRequestedAt: String
    var graceSeconds: Int
    var subRuns: [SubRun]
    var hasSubRuns: Bool
    /// JSON `{status: label}`: the script labels chips with the server's words.
    var statusLabels: String
    /// JSON `{kind: opens|keeps|closes}`: the script tracks the step in flight by the
    /// server's rule (``TetherCore/EventKind/stepEffect``).
    var stepEffects: String
    /// The server's clock when it rendered the page (ms since 1970): the script's call
    /// clocks allow for the browser's clock being off.
    var serverTime: Int64
    var answerTemplate = AnswerView.template
}

extension RunPanel {
    static let statusLabelsJSON = JSONValue.object(
        Dictionary(uniqueKeysWithValues: RunStatus.allCases.map { ($0.rawValue, JSONValue.string($0.label)) })
    ).compactJSON
    static let stepEffectsJSON = JSONValue.object(
        Dictionary(uniqueKeysWithValues: EventKind.allCases.map { ($0.rawValue, JSONValue.string($0.stepEffect.rawValue)) })
    ).compactJSON
}

/// A usage line: its text, and its counts for the script.
struct UsageView: Sendable {
    var text: String
    var llmCalls: Int
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
    var seconds: Double
    /// Empty when the cost is unknown.
    var cost: String

    init(_ count: UsageCount) {
        text = count.summary
        llmCalls = count.llmCalls
        promptTokens = count.promptTokens
        completionTokens = count.completionTokens
        totalTokens = count.totalTokens
        seconds = count.seconds
        cost = count.cost.map { String($0) } ?? ""
    }
}

/// "Stopped: token budget of 200,000 reached": shown once the run has stopped. The script
/// writes the same line from the `done` frame's `stopReason.message`, with the `stopped`
/// chip's label.
struct StopReasonView: Sendable {
    var text: String
    var isShown: Bool

    /// `nil` for a run with no explained stop (none requested, or a person asked).
    init?(_ record: RunRecord) {
        guard let explanation = record.stopReason?.explanation else { return nil }
        text = "\(RunStatus.stopped.label): \(explanation)"
        isShown = record.status == .stopped
    }
}

struct RunLink: Sendable {
    var url: String
    var shortID: String

    init(_ record: RunRecord) {
        self.init(record.id)
    }

    init(_ id: RunID) {
        url = "/runs/\(id)"
        shortID = String(id.rawValue.prefix(8))
    }
}

struct InputPair: Sendable {
    var name: String
    var value: String
}

struct SubRun: Sendable {
    var id: String
    var agent: String
    var url: String
    var chip: ChipView
    var depth: Int
}

/// One line of the progress log.
struct EventRow: Sendable {
    var seq: Int
    var runID: String
    var depth: Int
    var time: String
    var at: String
    var kind: String
    var message: String
    var detail: String?
    var isInFlight: Bool
    /// `POST /runs/{root}/resume?at=SEQ` on an LLM step of a finished root run: "Run again
    /// from here".
    var forkAction: String?
    /// Consecutive `replayed` events of one run show as one line: the seq of its last event
    /// (`seq` is its first's), and how many it covers.
    var lastSeq: Int
    var replay: ReplaySummary?
    /// On an LLM call in flight: its clock and what it has streamed so far.
    var answer: AnswerView? = nil
}

/// An LLM call in flight under its step: "LLM call in flight for 42 s, 380 tokens so far"
/// and its text so far. The script copies the page's empty one (`#answer-template`, in a
/// comment so that text-mode browsers, which know no `hidden`, do not show it) for a call
/// that begins live, so the words are the server's.
struct AnswerView: Sendable {
    var seq: Int
    /// When the call began, in milliseconds since 1970, for the script's clock.
    var startedMs: Int64
    var seconds: Int
    var chunks: String
    var hasChunks: Bool
    var text: String

    init(seq: Int, startedAt: Date, now: Date, answer: AnswerInFlight?) {
        self.seq = seq
        startedMs = Int64((startedAt.timeIntervalSince1970 * 1000).rounded())
        seconds = max(0, Int(now.timeIntervalSince(startedAt)))
        chunks = NumberText.grouped(answer?.chunks ?? 0)
        hasChunks = (answer?.chunks ?? 0) > 0
        text = answer?.text ?? ""
    }

    /// The empty one the script copies.
    static let template = AnswerView(seq: 0, startedAt: Date(timeIntervalSince1970: 0), now: Date(timeIntervalSince1970: 0), answer: nil)
}

/// What a line of replayed steps counts: "Replayed 8 steps: 7 LLM calls, 1,240 tokens not
/// paid again". The script counts on from these when more arrive.
struct ReplaySummary: Sendable {
    var steps: Int
    var llmCalls: Int
    var tokens: Int

    var message: String {
        let counted = steps == 1 ? "1 step" : "\(steps) steps"
        guard llmCalls > 0 else { return "Replayed \(counted): nothing done again" }
        let calls = llmCalls == 1 ? "1 LLM call" : "\(llmCalls) LLM calls"
        let tokens = self.tokens > 0 ? ", \(NumberText.grouped(self.tokens)) tokens" : ""
        return "Replayed \(counted): \(calls)\(tokens) not paid again"
    }
}

struct RecentRun: Sendable {
    var id: String
    var shortID: String
    var agent: String
    var url: String
    var chip: ChipView
    var createdAt: String
    var isCurrent: Bool
}

/// The page for an error, for browsers.
struct ErrorPage: Sendable {
    var title: String
    var status: Int
    var code: String
    var message: String
    var backURL: String
    var backLabel: String
    var assetVersion: String
}
