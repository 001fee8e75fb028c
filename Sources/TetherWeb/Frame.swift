import Hummingbird
import TetherCore

/// The text of the event stream's frames (DESIGN §4).
enum Frame {
    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")

    static func status(_ run: RunID, _ status: RunStatus) -> ByteBuffer {
        ByteBuffer(string: "event: status\ndata: {\"runId\":\"\(run)\",\"status\":\"\(status.rawValue)\"}\n\n")
    }

    static func progress(_ event: ProgressEvent) throws -> ByteBuffer {
        let json = String(decoding: try APIJSON.data(event), as: UTF8.self)
        return ByteBuffer(string: "id: \(event.seq)\nevent: progress\ndata: \(json)\n\n")
    }

    /// `done`: `{runId, status, result, error}`, every key present.
    static func done(_ outcome: RunOutcome) throws -> ByteBuffer {
        struct Done: Encodable {
            var outcome: RunOutcome
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(outcome.runID, forKey: .runId)
                try container.encode(outcome.status, forKey: .status)
                try container.encode(outcome.result, forKey: .result)
                try container.encode(outcome.error, forKey: .error)
            }
            enum CodingKeys: String, CodingKey { case runId, status, result, error }
        }
        let json = String(decoding: try APIJSON.data(Done(outcome: outcome)), as: UTF8.self)
        return ByteBuffer(string: "event: done\ndata: \(json)\n\n")
    }
}
