import Foundation
import Testing
import TetherCore

@testable import TetherPostgres

/// The notices that carry answers in flight between instances stay under PostgreSQL's
/// payload limit and read back as they were written.
@Suite struct AnswerNoticeTests {
    @Test func aLongTextIsCutIntoNoticesThatFitAndPutTogetherAgain() throws {
        let root = RunID()
        let text = String(repeating: "héllo 🌍 \u{1}\"quoted\"\n", count: 400)
        let answer = AnswerInFlight(runID: RunID(), seq: 4, startedAt: Date(timeIntervalSince1970: 1_700_000_000), text: text, chunks: 9)
        let notices = AnswerNotice.pieces(of: answer, root: root, from: 7, text: Substring(text))
        #expect(notices.count > 1)
        var offset = 7
        var joined = ""
        for notice in notices {
            #expect(notice.payload.utf8.count < 8_000, "under PostgreSQL's payload limit")
            let read = try #require(AnswerNotice(json: notice.payload.dropFirst("answer ".count)))
            #expect(read == notice)
            #expect(read.offset == offset, "each piece continues the last, in UTF-16 code units")
            offset += read.text.utf16.count
            joined += read.text
        }
        #expect(joined == text)
        let ended = AnswerNotice(root: root, runID: root, seq: 4, startedAt: Date(), offset: 0, text: "", chunks: 0, ended: true)
        #expect(AnswerNotice(json: ended.payload.dropFirst("answer ".count))?.ended == true)
        #expect(AnswerNotice(json: "not json") == nil)
    }
}
