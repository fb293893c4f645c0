import Foundation
import XCTest

@testable import TerminalText

final class TerminalTextTests: XCTestCase {
  func testControlCharactersBecomeVisibleEscapes() {
    let cases: [(String, String)] = [
      ("a\rb", "a\\rb"), ("a\nb", "a\\nb"), ("a\tb", "a\\tb"), ("a\r\nb", "a\\r\\nb"),
      ("a\u{0B}b", "a\\u{0B}b"), ("a\u{0C}b", "a\\u{0C}b"), ("\u{1B}[31mred", "\\u{1B}[31mred"),
      ("a\u{7F}b", "a\\u{7F}b"), ("a\u{85}b", "a\\u{85}b"), ("a\u{9B}b", "a\\u{9B}b"),
      ("a\u{2028}b", "a\\u{2028}b"), ("a\u{2029}b", "a\\u{2029}b"), ("\u{202E}txt", "\\u{202E}txt"),
      ("a\u{01}b", "a\\u{01}b"),
    ]
    for (raw, shown) in cases {
      XCTAssertEqual(raw.escapedForTerminal, shown)
      // One line, whatever the input: nothing a terminal or `split(whereSeparator: \.isNewline)`
      // takes as a line break is left.
      XCTAssertEqual(raw.escapedForTerminal.split(whereSeparator: \.isNewline).count, 1, shown)
    }
  }

  func testPlainTextIsUnchanged() {
    for text in [
      "Clips/val/0003.mkv", "passing American football (in game)", "café", "日本語.mp4",
      "back\\slash", "a b", "👍🏽 thumbs", "",
    ] {
      XCTAssertEqual(text.escapedForTerminal, text)
    }
  }

  func testWidthsCountWideAndCombiningCharacters() {
    XCTAssertEqual("abc".terminalWidth, 3)
    XCTAssertEqual("日本".terminalWidth, 4)
    XCTAssertEqual("e\u{301}".terminalWidth, 1)  // e + combining acute: one cell
    XCTAssertEqual("Ｆ".terminalWidth, 2)  // full-width F
    XCTAssertEqual("👍".terminalWidth, 2)
    XCTAssertEqual("a\u{200B}b".terminalWidth, 2)  // zero-width space
  }

  /// Long names sharing a 30-character prefix are printed whole; ranks past 99 and numbers line
  /// up on the right, names on the left.
  func testTableKeepsNamesWholeAndAlignsColumns() {
    var table = TextTable([.right, .left, .right])
    let names = (0..<120).map { i in
      i == 0
        ? "passing American football (in game)"
        : i == 1 ? "passing American football (not in game)" : "class \(i)"
    }
    for (i, name) in names.enumerated() {
      table.append(["\(i + 1).", name, String(format: "%.2f%%", 100.0 / Double(i + 1))])
    }
    let lines = table.lines(indent: "  ", separator: " ")
    XCTAssertEqual(lines.count, 120)
    XCTAssertEqual(lines[0], "    1. passing American football (in game)     100.00%")
    XCTAssertEqual(lines[1], "    2. passing American football (not in game)  50.00%")
    XCTAssertEqual(lines[119], "  120. class 119" + String(repeating: " ", count: 33) + "0.83%")
    // Every line ends at the same column; every name starts at the same column.
    XCTAssertEqual(Set(lines.map(\.count)).count, 1)
    XCTAssertEqual(Set(lines.map { line in line.firstIndex(of: ".")?.utf16Offset(in: line) }), [5])
    XCTAssertTrue(lines.allSatisfy { $0.prefix(7).hasSuffix(". ") && $0.dropFirst(7).first != " " })
  }

  func testTableEscapesCellsAndMeasuresWhatIsPrinted() {
    var table = TextTable([.left, .right])
    table.append(["a\nb.mp4", "1"])
    table.append(["日本.mp4", "22"])
    let lines = table.lines()
    XCTAssertEqual(lines, ["a\\nb.mp4   1", "日本.mp4  22"])
    XCTAssertEqual(lines.map(\.terminalWidth), [12, 12])
  }

  func testRowAtATimeWithKnownWidths() {
    let widths = TextTable.widths(of: [["x", "long label"], ["yy", "z"]], columns: 2)
    XCTAssertEqual(widths, [2, 10])
    XCTAssertEqual(
      TextTable.line(["x", "z"], widths: widths, alignments: [.right, .left], indent: "  "),
      "   x  z")
    // A cell wider than its column is kept whole.
    XCTAssertEqual(
      TextTable.line(["xyz", "a much longer label"], widths: widths, alignments: [.right, .left]),
      "xyz  a much longer label")
  }
}
