import Foundation
import Hummingbird
import TetherCore
import TetherRuntime

/// The Runs screen (DESIGN §5) and the browser side of the run routes: pages, and form posts
/// answered with `303` back to the run's page, so everything works without JavaScript.
struct PagesController {
    let supervisor: RunSupervisor
    let reads: any RunReadModel
    let screen: RunsScreen

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/", use: home)
    }

    var renderer: PageRenderer { screen.renderer }

    /// `GET /`, `?agent=NAME` to pick an agent, `&from=RUN` to start from that run's input.
    @Sendable func home(request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        var agent: String?
        if let name = parameters["agent"].map(String.init), !name.isEmpty {
            guard supervisor.agents[name] != nil else { throw APIError(.notFound, "no agent is named '\(name)'") }
            agent = name
        }
        var prefill: JSONValue?
        if let from = parameters["from"].flatMap({ RunID(validating: String($0)) }) {
            prefill = try await reads.record(from)?.input
        }
        let page = try await screen.page(agent: agent, prefill: prefill, csrfToken: context.csrfToken)
        return renderer.page("runs", page)
    }

    /// `GET /runs` for a browser: the screen with the run history, filtered and paged as the
    /// JSON listing is.
    func listPage(_ query: RunListQuery, request: Request, context: AppRequestContext) async throws -> Response {
        var notice: String?
        if let stopped = request.uri.queryParameters["stopped"].flatMap({ Int($0) }) {
            notice = stopped == 1 ? "Asked 1 run to stop." : "Asked \(stopped) runs to stop."
        }
        return renderer.page("runs", try await screen.historyPage(query, csrfToken: context.csrfToken, notice: notice))
    }

    /// The confirmation page of a bulk stop: what would be stopped, and the form that does it.
    func confirmStop(_ filter: BulkStopFilter, context: AppRequestContext) async throws -> Response {
        let runs = try await reads.listRuns(RunQuery(status: filter.status, agent: filter.agent, limit: 500, includeChildren: true))
            .filter(\.status.isInFlight)
        let subject = filter.agent.map { "of agent \($0)" } ?? "of every agent"
        let summary = runs.isEmpty
            ? "No run \(subject) is in flight."
            : "Stop \(runs.count) run\(runs.count == 1 ? "" : "s") \(subject)? Each halts at its next boundary; LLM calls in flight finish first."
        let page = ConfirmStopPage(
            title: "Stop runs — Tether", assetVersion: renderer.assetVersion, csrfToken: context.csrfToken,
            action: "/runs/stop?" + filter.query(), summary: summary, runs: runs.map { RunsScreen.row($0) },
            hasRuns: !runs.isEmpty, backURL: filter.agent.map { "/runs?agent=\(BulkStopFilter.escape($0))" } ?? "/runs")
        return renderer.page("confirm-stop", page)
    }

    /// `GET /runs/{id}` for a browser: the screen focused on the run.
    func runPage(_ id: RunID, request: Request, context: AppRequestContext) async throws -> Response {
        guard let record = try await reads.record(id) else { throw APIError(.notFound, "no run has the id \(id)") }
        var notice: String?
        if request.uri.queryParameters["notice"] == "finished" {
            notice = "Stop arrived after the run had already finished (\(ChipView(record.status).label.lowercased()))."
        }
        let page = try await screen.page(focus: record, csrfToken: context.csrfToken, notice: notice)
        return renderer.page("runs", page)
    }

    /// `POST /runs` from the form: `agent=NAME&input[field]=…&csrf=…` → `303` to the run.
    /// Input the agent refuses re-renders the form with the message and the values kept.
    func createFromForm(request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormBody.read(request)
        guard CSRFMiddleware.verify(formToken: form["csrf"], context: context) else { throw APIError.csrfMissing }
        guard let agent = form["agent"], !agent.isEmpty else { throw APIError(.badRequest, "the form names no agent") }
        let input = JSONValue.object(form.inputs.mapValues(JSONValue.string))
        let record: RunRecord
        do {
            record = try await supervisor.start(agent: agent, input: input, coercingStrings: true)
        } catch {
            // Swift 6.3 crashes compiling `catch .invalidInput(let reason)` here.
            guard case .invalidInput(let reason) = error else { throw error }
            let page = try await screen.page(agent: agent, prefill: input, csrfToken: context.csrfToken, formError: reason)
            return renderer.page("runs", page, status: .badRequest)
        }
        return .redirect(to: "/runs/\(record.id)", type: .normal)
    }

    /// `POST /runs/{id}/stop` from the form → `303` to the run (with a notice if it had
    /// already finished).
    func stopFromForm(_ id: RunID, force: Bool, request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormBody.read(request)
        guard CSRFMiddleware.verify(formToken: form["csrf"], context: context) else { throw APIError.csrfMissing }
        do {
            try await supervisor.stop(id, force: force)
        } catch {
            guard case .runFinished = error else { throw error }
            return .redirect(to: "/runs/\(id)?notice=finished", type: .normal)
        }
        return .redirect(to: "/runs/\(id)", type: .normal)
    }
}
