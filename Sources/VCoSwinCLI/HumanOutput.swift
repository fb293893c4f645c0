import Foundation
import Inference
import TerminalText

// What commands print for people (not `--json`): every line goes through `escapedForTerminal`,
// so a file name, a list line or a class name with a line break, a carriage return or an
// escape sequence in it stays on its line and shows what it holds (`\n`, `\r`, `\u{1B}`);
// tables are `TextTable`s, their columns as wide as what they print.

/// Prints one line for people on standard output, its control characters escaped.
func printHuman(_ line: String) {
  print(line.escapedForTerminal)
}

/// Writes one line for people on standard error (`error: …`, `warning: …`, notes) as
/// `oneLine` makes it (control characters escaped, at most 2000 characters), then a line break.
func printHumanError(_ line: String) {
  FileHandle.standardError.write(Data((oneLine(line) + "\n").utf8))
}

/// `classify`'s lines of one video: its path, then one row per class of `top` (most probable
/// first): rank, the class name whole, the probability in percent. Ranks and percentages are
/// right-aligned, names left-aligned, each column as wide as its widest entry:
///
/// ```
/// Clips/val/0003.mkv
///   1. passing American football (in game)     61.20%
///   2. passing American football (not in game)  9.75%
/// ```
func topClassesText(of video: String, _ top: [(index: Int, prob: Float)], labels: [String])
  -> String
{
  var table = TextTable([.right, .left, .right])
  for (rank, b) in top.enumerated() {
    table.append(["\(rank + 1).", labels[b.index], String(format: "%.2f%%", Double(b.prob) * 100)])
  }
  return ([video.escapedForTerminal] + table.lines(indent: "  ", separator: " "))
    .map { $0 + "\n" }.joined()
}

/// The header and a row of the segment tables of `timeline` (a video file's, printed at the
/// end, and a live source's, printed as segments close): start and end seconds, the label
/// whole, the mean probability.
struct SegmentTable {
  /// The label column's width: the widest label the table will print (for a live source,
  /// known before its segments: the widest class name).
  let labelWidth: Int

  init(labels: [String]) {
    labelWidth = TextTable.widths(of: labels.map { [$0] } + [["label"]], columns: 1)[0]
  }

  private static let alignments: [TextTable.Alignment] = [.right, .right, .left, .right]
  private var widths: [Int] { [8, 8, labelWidth, 5] }

  var header: String {
    TextTable.line(
      ["start", "end", "label", "prob"], widths: widths, alignments: Self.alignments, indent: "  ")
  }

  func row(_ s: TimelineSegment) -> String {
    TextTable.line(
      [
        String(format: "%.2f", s.start), String(format: "%.2f", s.end), s.name,
        String(format: "%.3f", s.prob),
      ], widths: widths, alignments: Self.alignments, indent: "  ")
  }
}
