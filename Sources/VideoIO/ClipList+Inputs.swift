// A list of inputs to classify (`classify --list`): `ClipList` lines whose label is optional.

import Foundation

/// The inputs a list names, each with the label it gives, if any: the lines of a `ClipList`
/// (same rules for line ends, byte order mark, comments, blank lines, UTF-8 and line length),
/// where a line is `path label` or a bare `path`.
///
/// The last whitespace-separated field of a line is its label when it is an integer or one of
/// `labelNames`; otherwise the whole line (without the whitespace around it) is the path, so
/// `my clip.mp4` names one file and an evaluation list reads unchanged. Paths are relative to
/// the list's folder, or absolute.
public struct InputList: Sendable {
  /// One input of the list.
  public struct Entry: Sendable, Equatable {
    /// The path as resolved (list folder + relative path, or the absolute path).
    public var path: String
    /// The class index the line gives, or nil for a bare path.
    public var label: Int?
    /// 1-based line number in the list file.
    public var line: Int

    public init(path: String, label: Int?, line: Int) {
      self.path = path
      self.label = label
      self.line = line
    }
  }

  /// The list file.
  public var path: String
  /// The inputs, in file order.
  public var entries: [Entry]

  /// Reads the list at `path`.
  /// - Parameter labelNames: the class names, index = label (the model's labels); an integer
  ///   label must lie in `0..<labelNames.count`.
  /// - Throws: `ListError` naming the file when it cannot be read, or the file and line of
  ///   the first line that is not UTF-8, too long, or whose integer label is not a class.
  public init(contentsOf path: String, labelNames: [String]) throws {
    let bytes = try ListLine.read(path, labels: false)
    try self.init(lines: ListLine.split(bytes), path: path, labelNames: labelNames)
  }

  /// Parses list text as if read from `path` (for relative paths and messages).
  public init(text: String, path: String, labelNames: [String]) throws {
    try self.init(lines: ListLine.split(Array(text.utf8)), path: path, labelNames: labelNames)
  }

  private init(lines: [ListLine], path: String, labelNames: [String]) throws {
    self.path = path
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
    var names: [String: Int] = [:]
    for (i, n) in labelNames.enumerated() { names[n] = i }
    var entries: [Entry] = []
    for line in lines where !line.isComment {
      let content = try line.content(path: path)
      if content.isEmpty { continue }
      var file = content
      var label: Int?
      if let (before, field) = ListLine.pathAndLabel(content) {
        if let value = Int(field) {
          guard (0..<labelNames.count).contains(value) else {
            throw ListError(
              path: path, line: line.number, .labelOutOfRange(value, classes: labelNames.count))
          }
          (file, label) = (before, value)
        } else if let value = names[field] {
          (file, label) = (before, value)
        }
      }
      let resolved = file.hasPrefix("/") ? file : folder.appendingPathComponent(file).path
      entries.append(Entry(path: resolved, label: label, line: line.number))
    }
    self.entries = entries
  }
}
