import Foundation
import XCTest

@testable import Reports

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// `eval`'s confusion matrix as text: class names whole (control characters escaped), columns
/// as wide as their widest entry.
final class ConfusionTextTests: XCTestCase {
  func testNamesWholeAndColumnsAligned() {
    let names = [
      "passing American football (in game)", "passing American football (not in game)",
      "line\nbreak",
    ]
    var m = ConfusionMatrix(labels: names)
    for _ in 0..<12345 { m.add(truth: 0, predicted: 0) }
    m.add(truth: 0, predicted: 1)
    m.add(truth: 1, predicted: 2)
    m.add(truth: 2, predicted: 2)
    let lines = m.text.split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(lines.count, 5)  // header, 3 rows, and the empty string after the last "\n"
    XCTAssertEqual(lines.last, "")
    let header = "true\\pred" + String(repeating: " ", count: 30)
    // Per column: the widest entry, at least 4 characters; one space between columns.
    XCTAssertEqual(String(lines[0]), header + "     0    1    2")
    XCTAssertEqual(String(lines[1]), names[0] + "     12345    1    0")
    XCTAssertEqual(String(lines[2]), names[1] + "     0    0    1")
    XCTAssertEqual(
      String(lines[3]), "line\\nbreak" + String(repeating: " ", count: 28) + "     0    0    1")
    XCTAssertEqual(Set(lines.dropLast().map(\.count)).count, 1)
  }

  /// Pictures show control characters as the terminal does (XML 1.0 allows none of most).
  func testPicturesEscapeControlCharacters() throws {
    var m = ConfusionMatrix(labels: ["vt\u{0B}name", "esc\u{1B}name", "not\u{FFFE}\u{FFFF}xml"])
    m.add(truth: 0, predicted: 1)
    let svg = m.svg(title: "list\r\n.txt")
    XCTAssertNoThrow(try XMLDocument(xmlString: svg))
    for shown in ["vt\\u{0B}name", "esc\\u{1B}name", "list\\r\\n.txt", "not\\u{FFFE}\\u{FFFF}xml"] {
      XCTAssertTrue(svg.contains(shown), shown)
    }
    let picture = TimelinePicture(
      title: "a\nb.mkv", duration: 1, thumbnails: [],
      bands: [.init(name: "c\u{85}d", colour: 0, cells: [])],
      segments: [.init(name: "c\u{85}d", colour: 0, start: 0, end: 1, prob: 1)], truth: nil)
    let timeline = try picture.svg()
    XCTAssertNoThrow(try XMLDocument(xmlString: timeline))
    XCTAssertTrue(timeline.contains("a\\nb.mkv"))
    XCTAssertTrue(timeline.contains("c\\u{85}d"))
  }
}
