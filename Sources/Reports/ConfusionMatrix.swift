import Foundation
import TerminalText

/// Counts of (true class, predicted class) pairs, with text and SVG renderings.
public struct ConfusionMatrix: Sendable, Codable, Equatable {
  /// `counts[t][p]`: samples of true class `t` predicted as `p`. Shape `[K, K]`.
  public private(set) var counts: [[Int]]
  public let labels: [String]

  /// An empty matrix over `labels` (K = labels.count).
  public init(labels: [String]) {
    self.labels = labels
    counts = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
  }

  /// Adds one sample. Precondition: both indices in `0..<K`.
  public mutating func add(truth: Int, predicted: Int) {
    precondition(
      counts.indices.contains(truth) && counts.indices.contains(predicted),
      "confusion matrix index out of range")
    counts[truth][predicted] += 1
  }

  /// Samples counted.
  public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }

  /// Fraction on the diagonal (top-1 accuracy); 0 when empty.
  public var accuracy: Double {
    total == 0 ? 0 : Double((0..<counts.count).reduce(0) { $0 + counts[$1][$1] }) / Double(total)
  }

  /// Mean over classes that have samples of each class's recall.
  public var meanClassAccuracy: Double {
    let recalls = counts.indices.compactMap { t -> Double? in
      let n = counts[t].reduce(0, +)
      return n == 0 ? nil : Double(counts[t][t]) / Double(n)
    }
    return recalls.isEmpty ? 0 : recalls.reduce(0, +) / Double(recalls.count)
  }

  /// The matrix as a text table (`TextTable`), one line per true class: its name whole (control
  /// characters escaped), then the counts per predicted class, whose columns are headed by
  /// the class indices. Names to the left, counts to the right; each column as wide as its
  /// widest entry (counts at least 4 characters, one space apart).
  ///
  /// ```
  /// true\pred    0    1    2
  /// a            3    0    1
  /// b            1    1    0
  /// c            0    0    0
  /// ```
  public var text: String {
    var table = TextTable([.left] + Array(repeating: .right, count: labels.count))
    let header = labels.indices.map { String($0) }
    table.append(["true\\pred"] + header.map(Self.countCell))
    for (t, row) in counts.enumerated() {
      table.append([labels[t]] + row.map { Self.countCell(String($0)) })
    }
    return table.lines(separator: " ").map { $0 + "\n" }.joined()
  }

  /// A count or index padded on the left to 4 characters.
  private static func countCell(_ text: String) -> String {
    String(repeating: " ", count: Swift.max(0, 4 - text.count)) + text
  }

  /// The matrix as a heat map: row-normalised colour, counts written in the cells, class
  /// names on both axes (rows: true class; columns: predicted, names written upwards). The
  /// picture is wide enough for its title at any class count.
  public func svg(title: String = "Confusion matrix") -> String {
    let k = counts.count
    let cell = 36.0
    // Approximate text widths of the sans-serif font: 6.5 px a character at 11 px, 8.5 at 14 px.
    // Names as written (escaped), in character cells (wide characters count two).
    let longest = Double(labels.map { $0.escapedForTerminal.terminalWidth }.max() ?? 1)
    let left = 30 + longest * 6.5 + 8
    let top = 50 + longest * 6.5 + 8
    let grid = cell * Double(k)
    let width = Swift.max(
      left + grid + 20, 20 + Double(title.escapedForTerminal.terminalWidth) * 8.5)
    let height = top + grid + 20
    var s = String(
      format: """
        <svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">
        <rect width="100%%" height="100%%" fill="white"/>
        <text x="10" y="20" font-size="14" font-weight="bold">%@</text>
        <text x="%.1f" y="40" text-anchor="middle" font-style="italic">predicted</text>
        <text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle" font-style="italic">true</text>

        """, width, height, escape(title), left + grid / 2, top + grid / 2)
    for t in 0..<k {
      let n = Swift.max(1, counts[t].reduce(0, +))
      s += String(
        format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%@</text>\n",
        left - 6, top + cell * (Double(t) + 0.6), escape(labels[t]))
      s += String(
        format: "<text transform=\"translate(%.1f %.1f) rotate(-90)\">%@</text>\n",
        left + cell * (Double(t) + 0.5) + 4, top - 6, escape(labels[t]))
      for p in 0..<k {
        let f = Double(counts[t][p]) / Double(n)
        let shade = Int(255 - 200 * f)
        let color = String(format: "#%02x%02xff", shade, shade)
        s += String(
          format:
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%@\" stroke=\"#ccc\"/>\n",
          left + cell * Double(p), top + cell * Double(t), cell, cell, color)
        s += String(
          format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%@\">%d</text>\n",
          left + cell * (Double(p) + 0.5), top + cell * (Double(t) + 0.6),
          f > 0.6 ? "white" : "black", counts[t][p])
      }
    }
    return s + "</svg>\n"
  }

  /// The shade of a cell: row-normalised fraction `f` from white (0) to blue (1), as RGB.
  public static func shade(_ f: Double) -> (UInt8, UInt8, UInt8) {
    let v = UInt8(Swift.max(0, Swift.min(255, (255 - 200 * f).rounded())))
    return (v, v, 255)
  }
}
