import Foundation
import TetherCore

/// Builds the Runs screen's view from the read model.
struct RunsScreen: Sendable {
    let agents: AgentRegistry
    let reads: any RunReadModel
    let renderer: PageRenderer
    let grace: Duration
    let isSimulated: Bool
    /// The limits a run of an agent gets when its form's Limits are left empty.
    let budget: @Sendable (AgentDescriptor) -> RunBudget?

    /// How many recent runs the screen lists.
    static let recentCount = 20

    func page(
        agent selected: String? = nil,
        focus: RunRecord? = nil,
        focusTree: FocusTree? = nil,
        prefill: JSONValue? = nil,
        prefillLimits: [String: String] = [:],
        csrfToken: String,
        notice: String? = nil,
        formError: String? = nil
    ) async throws -> RunsPage {
        let all = agents.all
        let formAgent = selected ?? focus?.agent ?? all.first?.name
        var form: RunForm?
        if let descriptor = formAgent.flatMap({ agents[$0] }) {
            let fields = (descriptor.input ?? []).map { Self.field($0, value: (prefill ?? focus?.input)?[$0.name]) }
            let inFlight = try await reads.inFlightCount(agent: descriptor.name)
            form = RunForm(
                agent: descriptor.name,
                description: descriptor.description,
                fields: fields,
                hasFields: !fields.isEmpty,
                limits: Self.limitFields(defaults: budget(descriptor), typed: prefillLimits),
                stopAllURL: inFlight > 0 ? "/runs/stop?agent=\(BulkStopFilter.escape(descriptor.name))" : nil,
                inFlightLabel: inFlight == 1 ? "1 run in flight" : "\(inFlight) runs in flight"
            )
        }
        var panel: RunPanel?
        var stop = StopControl.none()
        if let focus {
            panel = try await runPanel(focus, tree: focusTree)
            stop = StopControl(for: focus, grace: grace, now: Date())
        }
        let recent = try await reads.listRuns(RunQuery(limit: Self.recentCount)).map { Self.row($0, current: focus?.rootRunID) }
        let title = focus.map { "\($0.agent) · \(ChipView($0.status).label) — Tether" } ?? "Runs — Tether"
        return RunsPage(
            title: title,
            csrfToken: csrfToken,
            assetVersion: renderer.assetVersion,
            isSimulated: isSimulated,
            agents: all.map { AgentLink(name: $0.name, description: $0.description, url: "/?agent=\($0.name)", isSelected: $0.name == formAgent) },
            form: form,
            run: panel,
            stop: stop,
            recent: recent,
            hasRecent: !recent.isEmpty,
            notice: notice,
            formError: formError,
            refreshes: focus?.status.isInFlight ?? false,
            history: nil
        )
    }

    /// The form's Limits: one number field per kind, empty unless typed before; its
    /// placeholder says what applies when it stays empty.
    static func limitFields(defaults: RunBudget?, typed: [String: String]) -> [LimitField] {
        RunBudget.Limit.allCases.map { limit in
            let label: String
            switch limit {
            case .llmCalls: label = "LLM calls"
            case .tokens: label = "Tokens"
            case .seconds: label = "Seconds"
            case .cost: label = "Cost"
            }
            return LimitField(
                label: label,
                inputName: "budget[\(limit.rawValue)]",
                elementID: "limit-\(limit.rawValue)",
                value: typed[limit.rawValue] ?? "",
                placeholder: defaults?[limit].map { limit.format($0) } ?? "no limit",
                step: limit == .llmCalls || limit == .tokens ? "1" : "any"
            )
        }
    }

    static func row(_ record: RunRecord, current: RunID? = nil) -> RecentRun {
        RecentRun(
            id: record.id.rawValue,
            shortID: String(record.id.rawValue.prefix(8)),
            agent: record.agent,
            url: "/runs/\(record.id)",
            chip: ChipView(record.status),
            createdAt: clock(record.createdAt),
            isCurrent: record.id == current
        )
    }

    /// The history page: one page of runs for `query`, with links to filter and to page on.
    /// - Parameters:
    ///   - runs: the page of runs for `query`, as the listing read it.
    ///   - next: the cursor of the next page, if there is one.
    func historyPage(
        _ query: RunListQuery,
        runs: [RunRecord],
        next: String?,
        csrfToken: String,
        notice: String?
    ) async throws -> RunsPage {
        var page = try await self.page(csrfToken: csrfToken, notice: notice)
        let older = next.map { "/runs?" + query.link(cursor: $0) }
        let statuses: [RunStatus?] = [nil] + RunStatus.allCases.map(Optional.some)
        var stopAll: String?
        var stopAllLabel = ""
        if let agent = query.agent {
            let count = try await reads.inFlightCount(agent: agent)
            if count > 0 {
                stopAll = "/runs/stop?agent=\(BulkStopFilter.escape(agent))"
                stopAllLabel = "Stop all \(count) in-flight runs of \(agent)…"
            }
        }
        page.history = HistoryView(
            statusFilters: statuses.map { status in
                var link = query
                link.status = status
                return FilterLink(
                    label: status.map { ChipView($0).label } ?? "All",
                    url: "/runs?" + link.link(cursor: nil),
                    isSelected: status == query.status
                )
            },
            agentOptions: agents.all.map { AgentOption(name: $0.name, isSelected: $0.name == query.agent) },
            runs: runs.map { Self.row($0) },
            hasRuns: !runs.isEmpty,
            olderURL: older,
            newestURL: query.before == nil ? nil : "/runs?" + query.link(cursor: nil),
            stopAllURL: stopAll,
            stopAllLabel: stopAllLabel
        )
        page.title = "Runs — Tether"
        return page
    }

    /// The run, the runs below it and their events, when the caller has read them already.
    struct FocusTree: Sendable {
        /// The focused run first, then every run below it, parents first.
        var subtree: [RunRecord]
        /// The events of those runs, in order (one page of them when `nextEvents` is set).
        var events: [ProgressEvent]
        /// The page of the events that follows, if any.
        var nextEvents: String? = nil
    }

    /// Reads the run's subtree and the first page of its events (``EventPageQuery``), so a
    /// long log never loads whole.
    func focusTree(of record: RunRecord) async throws -> FocusTree {
        let read = try await reads.subtree(of: record.id)
        let subtree = read.isEmpty ? [record] : read
        let page = try await EventPageQuery().page(of: reads, subtree: subtree)
        return FocusTree(subtree: subtree, events: page.events, nextEvents: page.next)
    }

    func runPanel(_ record: RunRecord, tree given: FocusTree? = nil) async throws -> RunPanel {
        let tree: FocusTree
        if let given {
            tree = given
        } else {
            tree = try await focusTree(of: record)
        }
        let (subtree, events) = (tree.subtree, tree.events)
        let depths = Dictionary(uniqueKeysWithValues: subtree.map { ($0.id, $0.depth - record.depth) })
        let statuses = Dictionary(uniqueKeysWithValues: subtree.map { ($0.id, $0.status) })
        // A step is shown in flight only on the last page: on an earlier one, its end may be
        // on a later page.
        let inFlight = tree.nextEvents == nil ? Self.stepsInFlight(events, statuses: statuses) : []
        let answers = Dictionary(
            reads.answersInFlight(ofTree: record.rootRunID).map { ($0.seq, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        let now = Date()
        // "Run again from here" on each LLM step of a finished root run.
        let forks = record.isRoot && record.status.isTerminal
        let rows = Self.collapsingReplays(
            events.map { event in
                EventRow(
                    seq: event.seq,
                    runID: event.runID.rawValue,
                    depth: min(depths[event.runID] ?? 0, 8),
                    time: Self.clock(event.at),
                    at: APIJSON.timestamp(event.at),
                    kind: event.kind.rawValue,
                    message: event.message,
                    detail: Self.detail(of: event),
                    isInFlight: inFlight.contains(event.seq),
                    forkAction: forks && event.kind == .llmStarted ? "/runs/\(record.id)/resume?at=\(event.seq)" : nil,
                    lastSeq: event.seq,
                    replay: event.kind == .replayed ? Self.replaySummary(of: event) : nil,
                    answer: event.kind == .llmStarted && inFlight.contains(event.seq)
                        ? AnswerView(seq: event.seq, startedAt: event.at, now: now, answer: answers[event.seq]) : nil
                )
            }
        )
        let resumedAs =
            record.isRoot && Self.resumable.contains(record.status) ? try await reads.resumption(of: record.id).map(RunLink.init) : nil
        let order = agents[record.agent]?.input?.map(\.name) ?? []
        let members = record.input.objectValue ?? [:]
        let names = order.filter { members[$0] != nil } + members.keys.filter { !order.contains($0) }.sorted()
        let graceSeconds = Int(grace.components.seconds)
        return RunPanel(
            id: record.id.rawValue,
            agent: record.agent,
            chip: ChipView(record.status),
            isInFlight: record.status.isInFlight,
            createdAt: APIJSON.timestamp(record.createdAt),
            parentURL: record.parentRunID.map { "/runs/\($0)" },
            input: names.map { InputPair(name: $0, value: members[$0]?.text ?? "") },
            hasInput: !names.isEmpty,
            currentStep: rows.last(where: \.isInFlight)?.message,
            events: rows,
            lastSeq: events.last?.seq ?? 0,
            eventsURL: "/runs/\(record.id)/events?after=\(events.last?.seq ?? 0)",
            nextEventsURL: tree.nextEvents,
            runAgainURL: "/?agent=\(record.agent)&from=\(record.id)",
            resumeAction: record.isRoot ? "/runs/\(record.id)/resume" : nil,
            isResumable: record.isRoot && Self.resumable.contains(record.status) && resumedAs == nil,
            resumableStatuses: Self.resumable.map(\.rawValue).joined(separator: " "),
            resumedFrom: record.resumedFrom.map(RunLink.init),
            resumedAs: resumedAs,
            usage: record.usage.map { UsageView($0.tree) },
            limitsText: record.budget.map { "Limits: " + $0.summary },
            stopReason: StopReasonView(record),
            result: record.status == .succeeded ? (record.result?.text ?? "") : nil,
            error: record.error,
            isTerminal: record.status.isTerminal,
            stopRequestedAt: record.stopRequestedAt.map(APIJSON.timestamp) ?? "",
            graceSeconds: graceSeconds,
            subRuns: subtree.dropFirst().map {
                SubRun(id: $0.id.rawValue, agent: $0.agent, url: "/runs/\($0.id)", chip: ChipView($0.status), depth: $0.depth - record.depth)
            },
            hasSubRuns: subtree.count > 1,
            statusLabels: RunPanel.statusLabelsJSON,
            stepEffects: RunPanel.stepEffectsJSON,
            serverTime: Int64((now.timeIntervalSince1970 * 1000).rounded())
        )
    }

    /// The `seq` of each step still in flight (``Swift/Sequence/openSteps()``) in a run that
    /// has not ended.
    static func stepsInFlight(_ events: [ProgressEvent], statuses: [RunID: RunStatus]) -> Set<Int> {
        Set(events.openSteps().filter { statuses[$0.key]?.isInFlight == true }.values)
    }

    /// The statuses Resume is offered for (a fork, "Run again from here", also redoes a
    /// succeeded run).
    static let resumable: [RunStatus] = [.stopped, .failed, .interrupted]

    /// One line for each stretch of `replayed` events of one run: the `log` lines the agent
    /// wrote again between two of them (a definition's "section 2 of 6") go into it too.
    static func collapsingReplays(_ rows: [EventRow]) -> [EventRow] {
        var collapsed: [EventRow] = []
        // Log lines after a replayed stretch, dropped if the stretch goes on after them.
        var held: [EventRow] = []
        for row in rows {
            if row.kind == EventKind.log.rawValue, let last = collapsed.last, last.replay != nil, last.runID == row.runID {
                held.append(row)
                continue
            }
            if row.replay == nil || collapsed.last?.runID != row.runID { collapsed += held }
            held = []
            if let added = row.replay, var last = collapsed.last, let summary = last.replay, last.runID == row.runID {
                let total = ReplaySummary(
                    steps: summary.steps + added.steps,
                    llmCalls: summary.llmCalls + added.llmCalls,
                    tokens: summary.tokens + added.tokens
                )
                last.replay = total
                last.message = total.message
                last.lastSeq = row.seq
                collapsed[collapsed.count - 1] = last
            } else {
                var row = row
                if let summary = row.replay { row.message = summary.message }
                collapsed.append(row)
            }
        }
        return collapsed + held
    }

    /// What one `replayed` event adds to its line.
    static func replaySummary(of event: ProgressEvent) -> ReplaySummary {
        let isLLM = event.data[ProgressEvent.Key.boundary]?.stringValue == Boundary.llm.rawValue
        let tokens = event.data["usage"]?["totalTokens"]?.numberValue.map { Int($0) } ?? 0
        return ReplaySummary(steps: 1, llmCalls: isLLM ? 1 : 0, tokens: tokens)
    }

    static func detail(of event: ProgressEvent) -> String? {
        let text: String? =
            switch event.kind {
            case .llmFinished: event.data["text"]?.stringValue
            case .llmFailed: event.data["error"]?.stringValue
            default: nil
            }
        guard let text, !text.isEmpty else { return nil }
        return text.count > 600 ? String(text.prefix(599)) + "…" : text
    }

    static func field(_ field: InputField, value: JSONValue?) -> FormField {
        let text: String =
            switch value {
            case .string(let string)?: string
            case .number?, .bool?: value!.text
            default: ""
            }
        return FormField(
            name: field.name,
            inputName: "input[\(field.name)]",
            elementID: "field-\(field.name)",
            value: text,
            isString: field.type == .string,
            isText: field.type == .text,
            isNumber: field.type == .number,
            isBoolean: field.type == .boolean,
            isChecked: value == .bool(true),
            typeLabel: field.type.rawValue
        )
    }

    /// `02:33:11.960` (UTC).
    static func clock(_ date: Date) -> String {
        let stamp = APIJSON.timestamp(date)
        let start = stamp.index(stamp.startIndex, offsetBy: 11)
        return String(stamp[start..<stamp.index(start, offsetBy: 12)])
    }
}
