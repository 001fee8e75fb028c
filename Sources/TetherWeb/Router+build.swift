import Hummingbird
import Logging
import TetherApp
import TetherCore
import TetherRuntime

/// The routes of DESIGN §4 and §5 with their middleware.
///
/// Middleware wraps only the routes added after it, outermost first: security headers, the
/// error shapes, the token (or loopback `Host`) check, the `Origin` check, the CSRF cookie,
/// then the assets. The `POST`s that change something sit in one group behind
/// ``CSRFMiddleware``; the login form has its own, which checks `x-www-form-urlencoded` only.
func buildRouter(
    configuration: AppConfiguration,
    runtime: RuntimeAssembly,
    renderer: PageRenderer,
    dependencies: ServerDependencies
) -> Router<AppRequestContext> {
    let supervisor = runtime.supervisor
    let reads = supervisor.reads
    let screen = RunsScreen(
        agents: supervisor.agents,
        reads: reads,
        renderer: renderer,
        grace: configuration.stopGrace,
        isSimulated: runtime.isSimulated,
        budget: { supervisor.budget(of: $0) }
    )
    let session = configuration.apiToken.map(LoginSession.init(token:))
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ErrorMiddleware(renderer: renderer))
    if let session {
        router.add(middleware: TokenMiddleware(session: session))
    } else {
        router.add(middleware: LoopbackHostMiddleware())
    }
    router.add(middleware: OriginCheckMiddleware())
    router.add(middleware: CSRFTokenMiddleware())
    router.add(middleware: PublicFolderGuard(directory: dependencies.publicDirectory))
    router.add(
        middleware: FileMiddleware(
            dependencies.publicDirectory,
            cacheControl: .init([(.init(type: .any), [.public, .maxAge(86_400)])]),
            searchForIndexHtml: false,
            logger: dependencies.logger
        )
    )

    let negotiation = Negotiation(screen: screen)
    let changes = router.group().add(middleware: CSRFMiddleware(scope: .formTypes))
    let loginForm = router.group().add(middleware: CSRFMiddleware(scope: .urlEncodedForms))

    // The storage is checked too: an instance that cannot reach its database answers 503,
    // so a load balancer sends nobody there.
    let storage = runtime.storageHealth
    let instance = supervisor.instanceID
    router.get("healthz") { _, _ in
        let reachable = await storage.check()
        let body: JSONValue = [
            "status": reachable ? "ok" : "unavailable",
            "instance": instance.map(JSONValue.string) ?? .null,
            "database": ["kind": .string(storage.kind), "ok": .bool(reachable)],
        ]
        return try Response.json(body, status: reachable ? .ok : .serviceUnavailable)
    }
    PagesController(agents: supervisor.agents, reads: reads, screen: screen).addRoutes(to: router)
    LoginController(session: session, renderer: renderer).addRoutes(to: router, forms: loginForm)
    StoreController(dataStore: runtime.dataStore).addRoutes(to: router, negotiation: negotiation)
    AgentsController(agents: supervisor.agents).addRoutes(to: router)
    let runs = RunsController(
        supervisor: supervisor,
        reads: reads,
        events: EventStream(
            reads: reads,
            keepAliveInterval: dependencies.keepAliveInterval,
            limits: SubscriberLimits(perRun: configuration.maxSubscribersPerRun, total: configuration.maxSubscribers)
        )
    )
    runs.addRoutes(to: router, negotiation: negotiation)
    runs.addPostRoutes(to: changes, negotiation: negotiation)
    return router
}
