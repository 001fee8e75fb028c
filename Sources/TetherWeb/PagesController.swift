import Foundation
import Hummingbird
import TetherCore
import TetherRuntime

/// The Runs screen (DESIGN §5) and the browser side of the run routes: pages, and form posts
/// answered with `303` back to the run's page, so everything works without JavaScript.
struct PagesController {
    let supervisor: RunSupervisor
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
            prefill = try await supervisor.record(from)?.input
        }
        let page = try await screen.page(agent: agent, prefill: prefill, csrfToken: context.csrfToken)
        return renderer.page("runs", page)
    }

    /// `GET /runs` for a browser: the screen with the recent runs.
    func listPage(request: Request, context: AppRequestContext) async throws -> Response {
        renderer.page("runs", try await screen.page(csrfToken: context.csrfToken))
    }

    /// `GET /runs/{id}` for a browser: the screen focused on the run.
    func runPage(_ id: RunID, request: Request, context: AppRequestContext) async throws -> Response {
        guard let record = try await supervisor.record(id) else { throw APIError(.notFound, "no run has the id \(id)") }
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
