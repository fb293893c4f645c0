import Foundation
import VideoIO
import XCTest
import _TestSupport

final class ClipListTests: TemporaryFolderTestCase {
  func testParsesPathsLabelsCommentsAndNames() throws {
    let text = """
      # a comment
      train/0000.avi 3
      /abs/clip one.mp4 grow

        # an indented comment
      train/0002.avi\t0
      """
    let list = try ClipList(
      text: text, path: "/data/list.txt", labelNames: ["a", "b", "c", "d", "grow"])
    XCTAssertEqual(
      list.entries,
      [
        .init(path: "/data/train/0000.avi", label: 3, line: 2),
        .init(path: "/abs/clip one.mp4", label: 4, line: 3),
        .init(path: "/data/train/0002.avi", label: 0, line: 6),
      ])
  }

  func testErrorsNameFileAndLine() {
    func message(_ text: String, names: [String] = [], classes: Int? = nil) -> String {
      do {
        _ = try ClipList(text: text, path: "l.txt", labelNames: names, classCount: classes)
        return "no error"
      } catch { return String(describing: error) }
    }
    XCTAssertEqual(message("a.avi 1\nb.avi\n"), "l.txt:2: expected `path label`")
    XCTAssertEqual(message("a.avi x"), "l.txt:1: label `x` is not an integer")
    XCTAssertEqual(message("a.avi x", names: ["y"]), "l.txt:1: unknown label `x`")
    XCTAssertEqual(message("\n\na.avi 9", classes: 8), "l.txt:3: label 9 out of range 0..<8")
    XCTAssertEqual(message("a.avi -1"), "l.txt:1: label -1 out of range ≥ 0")
    XCTAssertThrowsError(try ClipList(contentsOf: "/no/such/list.txt")) {
      XCTAssertEqual(
        String(describing: $0), "/no/such/list.txt: cannot read the list: no such file")
    }
  }

  /// A list or labels file that cannot be read says why: no such file, or a folder given
  /// where a file is expected (which opens, then fails to read).
  func testUnreadableListsSayWhy() throws {
    let folder = path("a-folder")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    XCTAssertThrowsError(try ClipList(contentsOf: folder)) {
      XCTAssertEqual(String(describing: $0), "\(folder): cannot read the list: it is a folder")
    }
    XCTAssertThrowsError(try ClipList.labelNames(contentsOf: folder)) {
      XCTAssertEqual(
        String(describing: $0), "\(folder): cannot read the labels file: it is a folder")
    }
    let missing = path("nope.txt")
    XCTAssertThrowsError(try ClipList.labelNames(contentsOf: missing)) {
      XCTAssertEqual(
        String(describing: $0), "\(missing): cannot read the labels file: no such file")
    }
  }

  /// A rejected label travels in the error's kind, as written (a backtick or leading zero
  /// included), with its line; the message stays the sentence printed to the user.
  func testRejectedLabelsAreTyped() throws {
    let list = try ClipList(
      text: "a.avi w`x\nb.avi 07\nc.avi 1\nd.avi\n", path: "l.txt", labelNames: ["p", "q"],
      skipBadLines: true)
    XCTAssertEqual(list.entries.map(\.line), [3])
    XCTAssertEqual(
      list.badLines,
      [
        ListError(path: "l.txt", line: 1, .unknownLabel("w`x")),
        ListError(path: "l.txt", line: 2, .labelOutOfRange(7, classes: 2)),
        ListError(path: "l.txt", line: 4, .missingLabel),
      ])
    XCTAssertEqual(list.badLines.map(\.rejectedLabel), ["w`x", "7", nil])
    XCTAssertEqual(list.badLines[0].description, "l.txt:1: unknown label `w`x`")
    let unnamed = try ClipList(text: "a.avi w`x\n", path: "l.txt", skipBadLines: true)
    XCTAssertEqual(unnamed.badLines.map(\.kind), [.labelNotAnInteger("w`x")])
  }

  /// CRLF line ends (a list or labels file saved on Windows): one entry per line, and the
  /// CR is part of neither the label nor a class name.
  func testCRLFListsAndLabelsFiles() throws {
    let labels = path("labels.txt")
    try Data("walk\r\nrun\r\n# comment\r\n\r\njump up\r\n".utf8).write(
      to: URL(fileURLWithPath: labels))
    XCTAssertEqual(try ClipList.labelNames(contentsOf: labels), ["walk", "run", "jump up"])
    let list = path("list.txt")
    try Data("a.avi 0\r\nb.avi run\r\n# c\r\n\r\nc.avi 2 \r\n".utf8).write(
      to: URL(fileURLWithPath: list))
    let parsed = try ClipList(contentsOf: list, labelNames: ["walk", "run", "jump up"])
    XCTAssertEqual(parsed.entries.map(\.label), [0, 1, 2])
    XCTAssertEqual(parsed.entries.map(\.line), [1, 2, 5])
    XCTAssertEqual(
      parsed.entries.map { URL(fileURLWithPath: $0.path).lastPathComponent },
      ["a.avi", "b.avi", "c.avi"])
  }

  /// The path is everything before the last field, verbatim: repeated spaces and `#` kept.
  func testPathIsVerbatimAndHashOnlyCommentsAtLineStart() throws {
    let text = "clips/two  spaces.avi 1\nclips/take #3.avi\t2\n  clips/lead.avi   0  \n#skipped 1\n"
    let list = try ClipList(text: text, path: "/d/l.txt")
    XCTAssertEqual(
      list.entries,
      [
        .init(path: "/d/clips/two  spaces.avi", label: 1, line: 1),
        .init(path: "/d/clips/take #3.avi", label: 2, line: 2),
        .init(path: "/d/clips/lead.avi", label: 0, line: 3),
      ])
  }

  /// A comment is skipped whatever its length (past the 64 KiB a path and label may take) or
  /// bytes, in lists and labels files; a non-comment line that long is still refused.
  func testLongCommentsAreComments() throws {
    let long = "  # " + String(repeating: "x", count: 70_000)
    let list = path("long-comment.txt")
    try Data(Array("a.avi 0\n\(long)\n#".utf8) + [0xE9] + Array("\nb.avi 1\n".utf8)).write(
      to: URL(fileURLWithPath: list))
    let parsed = try ClipList(contentsOf: list)
    XCTAssertEqual(parsed.entries.map(\.line), [1, 4])
    XCTAssertTrue(parsed.badLines.isEmpty)
    let labels = path("labels.txt")
    try "walk\n\(long)\nrun\n".write(toFile: labels, atomically: true, encoding: .utf8)
    XCTAssertEqual(try ClipList.labelNames(contentsOf: labels), ["walk", "run"])
    let giant = String(repeating: "x", count: 70_000) + " # 1"
    XCTAssertThrowsError(try ClipList(text: giant, path: "l.txt")) {
      XCTAssertEqual(
        String(describing: $0), "l.txt:1: a line of 70004 bytes (at most 65536: a path and a label)"
      )
    }
  }

  /// A line that is not UTF-8 (a Latin-1 byte) is a malformed line: an error naming the file
  /// and line, or, when bad lines are skipped (training), recorded while the others are read.
  func testInvalidUTF8IsAMalformedLine() throws {
    let list = path("latin1.txt")
    var bytes = Array("a.avi 0\ncaf".utf8)
    bytes += [0xE9]
    bytes += Array(".avi 1\nb.avi 1\n".utf8)
    try Data(bytes).write(to: URL(fileURLWithPath: list))
    XCTAssertThrowsError(try ClipList(contentsOf: list)) {
      XCTAssertEqual(String(describing: $0), "\(list):2: not UTF-8 text (byte 0xE9 at column 4)")
    }
    let skipping = try ClipList(contentsOf: list, skipBadLines: true)
    XCTAssertEqual(skipping.entries.map(\.line), [1, 3])
    XCTAssertEqual(skipping.badLines.map(\.line), [2])

    let labels = path("labels.txt")
    try Data(Array("walk\nr".utf8) + [0xFC] + Array("n\n".utf8)).write(
      to: URL(fileURLWithPath: labels))
    XCTAssertThrowsError(try ClipList.labelNames(contentsOf: labels)) {
      XCTAssertEqual(String(describing: $0), "\(labels):2: not UTF-8 text (byte 0xFC at column 2)")
    }
  }
}
