import TetherCore

/// A status chip (DESIGN §2): a colour and an icon from CSS by status, and always a text label.
struct ChipView: Sendable {
    let status: String
    let label: String

    init(_ status: RunStatus) {
        self.status = status.rawValue
        label = status.label
    }
}
