import Foundation

/// A list of labelled videos or images, in mmaction2's format: one `path label` per line.
///
/// - `path` is relative to the list file's folder, or absolute; it may contain spaces (the
///   label is the last field).
/// - `label` is an integer class index, or a class name from `labelNames`.
/// - `#` starts a comment; blank lines are skipped.
/// A malformed line is an error naming the file and line number.
public struct ClipList: Sendable {
  /// One line of a list.
  public struct Entry: Sendable, Equatable {
    /// The path as resolved (list folder + relative path, or the absolute path).
    public var path: String
    public var label: Int
    /// 1-based line number in the list file.
    public var line: Int
    public init(path: String, label: Int, line: Int) {
      self.path = path
      self.label = label
      self.line = line
    }
  }

  /// The list file.
  public var path: String
  public var entries: [Entry]
  /// Malformed lines that were skipped (only with `skipBadLines`), each naming file and line.
  public var badLines: [ListError] = []

  /// Reads and parses the list at `path`.
  /// - Parameters:
  ///   - labelNames: class names, index = label; lets lines use names instead of integers.
  ///   - classCount: when set, integer labels must be in `0..<classCount`.
  /// - Throws: `ListError` naming the file (and line).
  ///   - skipBadLines: record malformed lines in `badLines` and go on, instead of throwing.
  public init(
    contentsOf path: String, labelNames: [String] = [], classCount: Int? = nil,
    skipBadLines: Bool = false
  ) throws {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ListError(path: path, line: nil, message: "cannot read the list")
    }
    try self.init(
      text: text, path: path, labelNames: labelNames, classCount: classCount,
      skipBadLines: skipBadLines)
  }

  /// Parses list text as if read from `path` (for relative paths and messages).
  public init(
    text: String, path: String, labelNames: [String] = [], classCount: Int? = nil,
    skipBadLines: Bool = false
  ) throws {
    self.path = path
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
    var names: [String: Int] = [:]
    for (i, n) in labelNames.enumerated() { names[n] = i }
    let limit = classCount ?? (labelNames.isEmpty ? nil : labelNames.count)
    var entries: [Entry] = []
    var bad: [ListError] = []
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      do {
        var line = Substring(raw)
        if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        if fields.isEmpty { continue }
        let number = i + 1
        guard fields.count >= 2, let labelField = fields.last else {
          throw ListError(path: path, line: number, message: "expected `path label`")
        }
        let label: Int
        if let value = Int(labelField) {
          label = value
        } else if let value = names[String(labelField)] {
          label = value
        } else {
          throw ListError(
            path: path, line: number,
            message: names.isEmpty
              ? "label `\(labelField)` is not an integer"
              : "unknown label `\(labelField)`")
        }
        if label < 0 || (limit.map { label >= $0 } ?? false) {
          let range = limit.map { "0..<\($0)" } ?? "≥ 0"
          throw ListError(path: path, line: number, message: "label \(label) out of range \(range)")
        }
        let file = fields.dropLast().joined(separator: " ")
        let resolved = file.hasPrefix("/") ? file : folder.appendingPathComponent(file).path
        entries.append(Entry(path: resolved, label: label, line: number))
    } catch let error as ListError where skipBadLines {
        bad.append(error)
      }
    }
    self.entries = entries
    self.badLines = bad
  }

  /// Reads a labels file: one class name per line (blank lines and `#` comments skipped).
  public static func labelNames(contentsOf path: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw ListError(path: path, line: nil, message: "cannot read the labels file")
    }
    return text.split(separator: "\n").compactMap { raw in
      let name = raw.split(separator: "#", omittingEmptySubsequences: false)[0]
        .trimmingCharacters(in: .whitespaces)
      return name.isEmpty ? nil : name
    }
  }
}

/// A problem with a list file, naming the file and, when it is about one line, the line:
/// `train.txt:12: label 9 out of range 0..<8`.
public struct ListError: Error, CustomStringConvertible, Sendable, Equatable {
  public var path: String
  public var line: Int?
  public var message: String
  public init(path: String, line: Int?, message: String) {
    self.path = path
    self.line = line
    self.message = message
  }
  public var description: String {
    line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)"
  }
}
