import Hummingbird
import Logging
import TetherApp
import TetherCore
import TetherRuntime

/// The routes of DESIGN §4 and §5 with their middleware.
///
/// Middleware wraps only the routes added after it, outermost first.
func buildRouter(
    configuration: AppConfiguration, supervisor: RunSupervisor, dataStore: any DataStore, screen: RunsScreen,
    keepAliveInterval: Duration, publicDirectory: String, logger: Logger
) -> Router<AppRequestContext> {
    let renderer = screen.renderer
    let pages = PagesController(supervisor: supervisor, screen: screen)
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
        publicDirectory, cacheControl: .init([(.init(type: .any), [.public, .maxAge(86_400)])]),
        searchForIndexHtml: false, logger: logger))
    router.get("healthz") { _, _ in try Response.json(["status": "ok"]) }
    pages.addRoutes(to: router)
    LoginController(token: configuration.apiToken, renderer: renderer).addRoutes(to: router)
    StoreController(dataStore: dataStore, renderer: renderer).addRoutes(to: router)
    AgentsController(agents: supervisor.agents).addRoutes(to: router)
    RunsController(
        supervisor: supervisor, events: EventStream(supervisor: supervisor, keepAliveInterval: keepAliveInterval), pages: pages
    ).addRoutes(to: router)
    return router
}
