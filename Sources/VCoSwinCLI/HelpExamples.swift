import Foundation

/// The examples of a command's help, kept whole at any terminal width.
///
/// ArgumentParser wraps the overview (abstract and discussion) at the terminal's width
/// (`COLUMNS`, else the terminal's, else 80 columns, as in a pipe): a line longer than that is
/// broken at its last space that fits, indented lines included, and there is no preformatted
/// block. An example broken there would not run when copied. So a discussion's example lines
/// (the indented lines after its `Examples:` line, one command each) are given no-break spaces
/// (U+00A0) instead of spaces, which the wrapping does not break at (a line without a space is
/// kept whole, however long), and `runMain` turns them back into spaces when it prints the
/// help. A terminal narrower than an example folds it on screen; the line itself stays one
/// line, and copies as one.
enum HelpExamples {
  /// The space that ArgumentParser's wrapping does not break at.
  static let unbreakableSpace: Character = "\u{A0}"

  /// `discussion` with the spaces of its example lines (indentation included) unbreakable.
  static func protected(_ discussion: String) -> String {
    var inExamples = false
    return discussion.split(separator: "\n", omittingEmptySubsequences: false).map { line in
      if line == "Examples:" || line == "Example:" {
        inExamples = true
      } else if inExamples && line.hasPrefix("  ") {
        return String(line.map { $0 == " " ? unbreakableSpace : $0 })
      } else {
        inExamples = false
      }
      return String(line)
    }.joined(separator: "\n")
  }

  /// The example command lines of a (protected) discussion, as printed, without indentation.
  static func examples(in discussion: String) -> [String] {
    var (inExamples, examples) = (false, [String]())
    for line in restoringSpaces(discussion).split(separator: "\n", omittingEmptySubsequences: false)
    {
      if line == "Examples:" || line == "Example:" {
        inExamples = true
      } else if inExamples && line.hasPrefix("  ") {
        examples.append(line.trimmingCharacters(in: .whitespaces))
      } else {
        inExamples = false
      }
    }
    return examples
  }

  /// Help text as printed: the examples' unbreakable spaces back to spaces.
  static func restoringSpaces(_ help: String) -> String {
    String(help.map { $0 == unbreakableSpace ? " " : $0 })
  }
}
