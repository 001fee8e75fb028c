import Foundation
import Hummingbird

/// Static files come only from `Public/`: Hummingbird's `FileMiddleware` refuses paths with
/// `..`, but it follows a symlink wherever it points. This guard, in front of it, answers
/// `404` for a path whose file, once symlinks are resolved, lies outside the folder.
struct PublicFolderGuard<Context: RequestContext>: RouterMiddleware {
    /// The folder, symlinks resolved.
    let root: String

    init(directory: String) {
        root = URL(fileURLWithPath: directory).resolvingSymlinksInPath().standardizedFileURL.path
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .get || request.method == .head {
            let path = request.uri.path
            let candidate = root + (path.removingPercentEncoding ?? path)
            if FileManager.default.fileExists(atPath: candidate) {
                let real = URL(fileURLWithPath: candidate).resolvingSymlinksInPath().standardizedFileURL.path
                guard real == root || real.hasPrefix(root + "/") else {
                    throw APIError(.notFound, "no such page or route")
                }
            }
        }
        return try await next(request, context)
    }
}
