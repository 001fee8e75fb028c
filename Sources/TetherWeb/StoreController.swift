import Foundation
import Hummingbird
import TetherCore

/// The read-only view of the agents' data store: `GET /store` lists namespaces,
/// `GET /store/{namespace}` its keys with sizes and update times, `?key=K` one whole value.
/// JSON for API clients, pages for browsers (``Negotiation``).
struct StoreController {
    let dataStore: any DataStore

    func addRoutes(to router: Router<AppRequestContext>, negotiation: Negotiation) {
        router.get("store", use: negotiation(namespaces))
        router.get("store/{namespace}", use: negotiation(namespace))
    }

    @Sendable func namespaces(request: Request, context: AppRequestContext) async throws -> StoreOverview {
        StoreOverview(namespaces: try await dataStore.namespaces())
    }

    @Sendable func namespace(request: Request, context: AppRequestContext) async throws -> StoreContents {
        let raw = try context.parameters.require("namespace")
        let name = raw.removingPercentEncoding ?? raw
        if let key = request.uri.queryParameters["key"].map(String.init) {
            let storeKey = StoreKey(namespace: name, key: key)
            guard let value = try await dataStore.value(for: storeKey),
                let entry = try await dataStore.entries(in: name, prefix: key).first(where: { $0.key == key })
            else { throw APIError(.notFound, "no value is stored at \(storeKey)") }
            return .value(StoreValue(namespace: name, key: key, value: value, bytes: value.utf8.count, updatedAt: entry.updatedAt))
        }
        let entries = try await dataStore.entries(in: name, prefix: "")
        guard !entries.isEmpty else { throw APIError(.notFound, "the data store has no namespace '\(name)'") }
        return .namespace(name, entries)
    }
}
