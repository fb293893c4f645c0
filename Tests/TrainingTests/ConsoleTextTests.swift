import Datasets
import Foundation
import VideoIO
import XCTest

@testable import Training

/// A training run's console lines echo list lines and paths: each stays one line, its control
/// characters shown as escapes.
final class ConsoleTextTests: XCTestCase {
  func testWarningsQuotingListLinesAreOneEscapedLineEach() throws {
    let list = try ClipList(
      text: "a.mkv 0\nb.mkv la\u{0B}b\u{85}el\u{1B}[2J\nc\u{2028}d.mkv\n",
      path: "/data/li\rst.txt", labelNames: ["x"], skipBadLines: true)
    XCTAssertEqual(list.badLines.count, 2)
    let console = TrainingConsole()
    var lines: [String] = []
    console.log = { lines.append($0) }
    console.malformedLines(of: list)
    XCTAssertEqual(
      lines,
      [
        "warning: /data/li\\rst.txt:2: unknown label `la\\u{0B}b\\u{85}el\\u{1B}[2J` (skipped)",
        "warning: /data/li\\rst.txt:3: expected `path label` (skipped)",
      ])
    XCTAssertTrue(lines.allSatisfy { $0.split(whereSeparator: \.isNewline).count == 1 })
  }
}
