/// What a reader has had of each answer in flight, so that each look at the answers hands
/// out only the text that came since, placed by its offset (in UTF-16 code units, as
/// JavaScript counts). A call it has not seen starts at offset 0 with all its text so far;
/// a call no longer among the answers is forgotten.
public struct AnswerCursor: Sendable {
    /// New text of one answer.
    public struct Piece: Sendable {
        public let answer: AnswerInFlight
        /// The length of the text before ``text``.
        public let offset: Int
        public let text: Substring
    }

    private var had: [Int: Int] = [:]

    public init() {}

    /// The new text of each of `answers` (those with none are left out), and the calls (their
    /// `seq`) that ended since the last look.
    public mutating func advance(to answers: [AnswerInFlight]) -> (pieces: [Piece], ended: [Int]) {
        var pieces: [Piece] = []
        var current: [Int: Int] = [:]
        for answer in answers {
            let offset = had[answer.seq] ?? 0
            let utf16 = answer.text.utf16
            current[answer.seq] = max(offset, utf16.count)
            guard utf16.count > offset else { continue }
            let start = utf16.index(utf16.startIndex, offsetBy: offset)
            pieces.append(Piece(answer: answer, offset: offset, text: answer.text[start...]))
        }
        let ended = had.keys.filter { current[$0] == nil }.sorted()
        had = current
        return (pieces, ended)
    }

    /// Hands out everything again from offset 0 at the next look.
    public mutating func reset() {
        had = [:]
    }
}
