import AsyncHTTPClient

/// Runs `body` with an `HTTPClient` of its own and shuts it down afterwards, whatever
/// happens (an `HTTPClient` never shut down traps in debug builds).
public func withHTTPClient<T: Sendable>(
    configuration: HTTPClient.Configuration = HTTPClient.Configuration(),
    _ body: (HTTPClient) async throws -> T
) async throws -> T {
    let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}
