import Foundation
import Synchronization
import TetherCore

/// Prints a run tree's events as they come: time, then the message, indented by how deep
/// the run is nested, with an LLM answer's first line under it.
final class ProgressPrinter: Sendable {
    private let depths = Mutex<[RunID: Int]>([:])
    private let formatter: Date.FormatStyle = .dateTime.hour(.twoDigits(amPM: .omitted)).minute(.twoDigits).second(.twoDigits)
        .secondFraction(.fractional(3))

    func print(_ event: ProgressEvent) {
        let depth = depths.withLock { depths in
            let depth = depths[event.runID] ?? 0
            if let child = event.calledChild { depths[child] = depth + 1 }
            return depth
        }
        let indent = String(repeating: "  ", count: depth)
        let marker: String =
            switch event.kind {
            case .stopRequested: "■ "
            case .runFinished: "● "
            case .llmFailed: "✗ "
            default: ""
            }
        line("\(event.at.formatted(formatter))  \(indent)\(marker)\(event.message)")
        if event.kind == .llmFinished, let text = event.data["text"]?.stringValue {
            let first = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            let more = text.contains(where: \.isNewline) ? " …" : ""
            line(String(repeating: " ", count: 14) + "\(indent)↳ \(first.prefix(100))\(more)")
        }
    }

    func finish(_ record: RunRecord) {
        line("")
        switch record.status {
        case .succeeded:
            line("Succeeded. Result:")
            line(record.result?.text ?? "")
        case .stopped:
            if let explanation = record.stopReason?.explanation {
                line("Stopped: \(explanation)\(record.forced ? " (forced)" : "").")
            } else {
                line(record.forced ? "Stopped (forced)." : "Stopped.")
            }
        case .failed:
            line("Failed: \(record.error ?? "unknown error")")
        default:
            line("Ended \(record.status.rawValue): \(record.error ?? "")")
        }
        if let usage = record.usage { line("Usage: \(usage.tree.summary)") }
    }

    func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    func warn(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
