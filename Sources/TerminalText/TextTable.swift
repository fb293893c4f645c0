/// Rows of cells printed as aligned columns for people: every cell whole (never cut), its
/// control characters escaped (`escapedForTerminal`), each column as wide as its widest cell
/// actually printed (`terminalWidth`), text to the left and numbers to the right.
///
/// ```
/// var table = TextTable([.right, .left, .right])
/// table.append(["1.", "passing American football (in game)", "40.12%"])
/// table.append(["120.", "yoga", "0.01%"])
/// table.lines(indent: "  ", separator: " ")
/// ```
/// gives
/// ```
///     1. passing American football (in game) 40.12%
///   120. yoga                                 0.01%
/// ```
public struct TextTable: Sendable {
  /// Where a cell sits in its column.
  public enum Alignment: Sendable {
    case left, right
  }

  public var alignments: [Alignment]
  /// The cells as given (escaped when laid out). Every row has `alignments.count` cells.
  public private(set) var rows: [[String]] = []

  /// A table of `alignments.count` columns.
  public init(_ alignments: [Alignment]) { self.alignments = alignments }

  /// Adds a row. Precondition: as many cells as columns.
  public mutating func append(_ cells: [String]) {
    precondition(
      cells.count == alignments.count,
      "a row of \(cells.count) cells in a table of \(alignments.count) columns")
    rows.append(cells)
  }

  /// The width of each column: the `terminalWidth` of its widest escaped cell.
  public var widths: [Int] { TextTable.widths(of: rows, columns: alignments.count) }

  /// The rows as lines (no line breaks): `indent`, then the cells padded to their column's
  /// width and joined by `separator`; trailing spaces dropped.
  public func lines(indent: String = "", separator: String = "  ") -> [String] {
    let widths = self.widths
    return rows.map {
      TextTable.line(
        $0, widths: widths, alignments: alignments, indent: indent, separator: separator)
    }
  }

  /// The widths of `columns` columns over `rows` (escaped cells), for a table printed a row at
  /// a time (`line(_:widths:…)`) whose widths are known before its rows.
  public static func widths(of rows: [[String]], columns: Int) -> [Int] {
    (0..<columns).map { c in
      rows.map { $0[c].escapedForTerminal.terminalWidth }.max() ?? 0
    }
  }

  /// One row as a line: each cell escaped and padded to at least its column's width (a wider
  /// cell is kept whole and pushes the rest of its line along).
  public static func line(
    _ cells: [String], widths: [Int], alignments: [Alignment], indent: String = "",
    separator: String = "  "
  ) -> String {
    let padded = cells.indices.map { c -> String in
      let text = cells[c].escapedForTerminal
      let width = c < widths.count ? widths[c] : 0
      let fill = String(repeating: " ", count: Swift.max(0, width - text.terminalWidth))
      let alignment = c < alignments.count ? alignments[c] : .left
      return alignment == .left ? text + fill : fill + text
    }
    var line = indent + padded.joined(separator: separator)
    while line.last == " " { line.removeLast() }
    return line
  }
}
