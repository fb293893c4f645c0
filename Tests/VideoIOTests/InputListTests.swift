import Foundation
import VideoIO
import XCTest
import _TestSupport

/// `InputList` (`classify --list`): the lines of a clip list with the label optional.
final class InputListTests: TemporaryFolderTestCase {
  func testLabelsAreOptionalAndPathsMayHoldSpaces() throws {
    let text = """
      \u{FEFF}# inputs
      train/0000.avi 3
      /abs/clip one.mp4 grow
      bare.mkv

      my clip.mp4\r
        spaced out.mkv   not-a-class
      """
    let list = try InputList(
      text: text, path: "/data/list.txt", labelNames: ["a", "b", "c", "d", "grow"])
    XCTAssertEqual(
      list.entries,
      [
        .init(path: "/data/train/0000.avi", label: 3, line: 2),
        .init(path: "/abs/clip one.mp4", label: 4, line: 3),
        .init(path: "/data/bare.mkv", label: nil, line: 4),
        .init(path: "/data/my clip.mp4", label: nil, line: 6),
        .init(path: "/data/spaced out.mkv   not-a-class", label: nil, line: 7),
      ])
  }

  func testErrorsNameFileAndLine() {
    func message(_ text: String) -> String {
      do {
        _ = try InputList(text: text, path: "l.txt", labelNames: ["a", "b"])
        return "no error"
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(message("x.mkv 0\ny.mkv 2\n"), "l.txt:2: label 2 out of range 0..<2")
    XCTAssertEqual(message("x.mkv -1\n"), "l.txt:1: label -1 out of range 0..<2")
    XCTAssertTrue(
      message("ok.mkv\n" + String(repeating: "x", count: 70_000)).hasPrefix("l.txt:2: a line of"))
    let latin1 = Data("ok.mkv 0\ncaf".utf8) + Data([0xE9]) + Data(".mkv\n".utf8)
    try? latin1.write(to: URL(fileURLWithPath: path("latin1.txt")))
    XCTAssertThrowsError(try InputList(contentsOf: path("latin1.txt"), labelNames: ["a"])) {
      XCTAssertEqual(
        "\($0)", "\(self.path("latin1.txt")):2: not UTF-8 text (byte 0xE9 at column 4)")
    }
    XCTAssertThrowsError(try InputList(contentsOf: path("none.txt"), labelNames: [])) {
      XCTAssertEqual("\($0)", "\(self.path("none.txt")): cannot read the list: no such file")
    }
    XCTAssertThrowsError(try InputList(contentsOf: folder.path, labelNames: [])) {
      XCTAssertEqual("\($0)", "\(self.folder.path): cannot read the list: it is a folder")
    }
  }

  func testCommentsAndBlankLinesOnlyGiveNoEntries() throws {
    let list = try InputList(text: "# only\n\n   \n", path: "l.txt", labelNames: [])
    XCTAssertTrue(list.entries.isEmpty)
  }
}
