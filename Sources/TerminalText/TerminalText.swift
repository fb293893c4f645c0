// Text for people on a terminal: outside text (file names, list lines, class names, messages
// from libraries) shown with its control characters as visible escapes, and the width it
// takes on the screen, so that tables line up by what is actually printed.

extension StringProtocol {
  /// This text with every character that could break or garble a line shown as an escape.
  ///
  /// `\t`, `\n` and `\r` for tab, line feed and carriage return; `\u{XX}` (upper-case hex, at
  /// least two digits) for the other C0 controls (U+0000–U+001F: `\u{0B}` vertical tab,
  /// `\u{1B}` escape), DEL (`\u{7F}`), the C1 controls (U+0080–U+009F: `\u{85}` next line),
  /// the line and paragraph separators (`\u{2028}`, `\u{2029}`) and the bidirectional
  /// controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which reorder what a
  /// line shows. Everything else, backslashes included, is kept as it is: a name without such
  /// characters prints unchanged (`--json` output gives the exact text).
  public var escapedForTerminal: String {
    guard unicodeScalars.contains(where: TerminalEscape.needsEscape) else { return String(self) }
    var out = String.UnicodeScalarView()
    for scalar in unicodeScalars {
      guard TerminalEscape.needsEscape(scalar) else {
        out.append(scalar)
        continue
      }
      out.append(contentsOf: TerminalEscape.escape(scalar).unicodeScalars)
    }
    return String(out)
  }

  /// Columns this text takes on a terminal, approximately as terminals count them: one per
  /// character (grapheme cluster), two for East Asian wide and full-width characters and for
  /// emoji shown as pictures, none for a cluster of combining marks or invisible format
  /// characters alone. Meant for text already `escapedForTerminal` (controls count one).
  public var terminalWidth: Int {
    var columns = 0
    for character in self {
      columns += TerminalEscape.columns(of: character)
    }
    return columns
  }
}

/// The rules behind `escapedForTerminal` and `terminalWidth`.
enum TerminalEscape {
  /// Whether `scalar` is shown as an escape: C0 and C1 controls, DEL, U+2028, U+2029 and the
  /// bidirectional controls.
  static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: return true
    case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
    default: return false
    }
  }

  /// The escape of one scalar: `\t`, `\n`, `\r`, else `\u{XX}`.
  static func escape(_ scalar: Unicode.Scalar) -> String {
    switch scalar {
    case "\t": return "\\t"
    case "\n": return "\\n"
    case "\r": return "\\r"
    default:
      let hex = String(scalar.value, radix: 16, uppercase: true)
      return "\\u{" + (hex.count < 2 ? "0" + hex : hex) + "}"
    }
  }

  /// Columns of one character: 2 when its first scalar is wide, 0 when every scalar is a
  /// combining mark or a format character, else 1.
  static func columns(of character: Character) -> Int {
    let scalars = character.unicodeScalars
    guard let first = scalars.first else { return 0 }
    if scalars.allSatisfy({ zeroWidthCategories.contains($0.properties.generalCategory) }) {
      return 0
    }
    if isWide(first) || scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
    return 1
  }

  private static let zeroWidthCategories: Set<Unicode.GeneralCategory> = [
    .nonspacingMark, .enclosingMark, .format,
  ]

  /// East Asian wide and full-width blocks (Hangul jamo, CJK, kana, Hangul syllables,
  /// compatibility ideographs, full-width forms, the supplementary ideographic planes) and
  /// emoji with picture presentation.
  private static func isWide(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
      0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
      0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
      return true
    default:
      return scalar.properties.isEmojiPresentation
    }
  }
}
