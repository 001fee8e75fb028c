/// A structural boundary: the places where a run checks its cancel token (DESIGN §1).
///
/// The raw values are the names used in `run.finished` events (`data.boundary`).
public enum Boundary: String, Sendable, Codable, CaseIterable {
    case llm
    case store
    case agentsCall = "agents.call"
    case wait
}
