import Foundation
import TetherCore

/// The opaque `cursor` of `GET /runs`: a page boundary, base64url of the last run's creation
/// time and id.
enum RunCursor {
    static func encode(_ position: RunPosition) -> String {
        // Date's own storage, so the position survives the round trip exactly.
        let raw = "\(position.createdAt.timeIntervalSinceReferenceDate)|\(position.id.rawValue)"
        return Data(raw.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> RunPosition? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let raw = String(data: data, encoding: .utf8) else { return nil }
        let parts = raw.split(separator: "|").map(String.init)
        guard parts.count == 2, let seconds = Double(parts[0]), seconds.isFinite, let id = RunID(validating: parts[1]) else {
            return nil
        }
        return RunPosition(createdAt: Date(timeIntervalSinceReferenceDate: seconds), id: id)
    }
}
