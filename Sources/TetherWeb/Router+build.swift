import Hummingbird
import TetherApp
import TetherCore
import TetherRuntime

/// The routes of DESIGN §4 behind their middleware. Middleware wraps only the routes added
/// after it, outermost first.
func buildRouter(
    configuration: AppConfiguration, runtime: RuntimeAssembly, renderer: PageRenderer,
    dependencies: ServerDependencies
) -> Router<AppRequestContext> {
    let supervisor = runtime.supervisor
    let reads = supervisor.reads
    let screen = RunsScreen(
        agents: supervisor.agents, reads: reads, renderer: renderer, grace: configuration.stopGrace,
        isSimulated: runtime.isSimulated)
    let pages = PagesController(supervisor: supervisor, reads: reads, screen: screen)

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorMiddleware(renderer: renderer))
    if let token = configuration.apiToken {
        router.add(middleware: TokenMiddleware(token: token))
    } else {
        router.add(middleware: LoopbackHostMiddleware())
    }
    router.add(middleware: OriginCheckMiddleware())
    router.add(middleware: CSRFMiddleware())
    router.add(middleware: FileMiddleware(
        dependencies.publicDirectory, cacheControl: .init([(.init(type: .any), [.public, .maxAge(86_400)])]),
        searchForIndexHtml: false, logger: dependencies.logger))
    router.get("healthz") { _, _ in try Response.json(["status": "ok"]) }
    pages.addRoutes(to: router)
    LoginController(token: configuration.apiToken, renderer: renderer).addRoutes(to: router)
    StoreController(dataStore: runtime.dataStore, renderer: renderer).addRoutes(to: router)
    AgentsController(agents: supervisor.agents).addRoutes(to: router)
    RunsController(
        supervisor: supervisor, reads: reads,
        events: EventStream(reads: reads, keepAliveInterval: dependencies.keepAliveInterval), pages: pages
    ).addRoutes(to: router)
    return router
}
