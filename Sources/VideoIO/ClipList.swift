import Foundation

/// A list of labelled videos or images, in mmaction2's format: one `path label` per line.
///
/// - Lines end in LF or CRLF; a UTF-8 byte order mark at the start is ignored.
/// - `label` is the last whitespace-separated field: an integer class index, or a class name
///   from `labelNames`.
/// - `path` is everything before the whitespace that precedes the label, verbatim (spaces,
///   repeated spaces and `#` included); relative to the list file's folder, or absolute.
///   Whitespace at the start and end of a line belongs to neither.
/// - A line whose first non-blank character is `#` is a comment, skipped whatever its length
///   or bytes; blank lines are skipped. There are no comments at the end of a line (a `#` there
///   belongs to the path or label).
///
/// A malformed line — no label, a bad label, or bytes that are not UTF-8 — is an error naming
/// the file and line number (with `skipBadLines`, recorded in `badLines` and skipped).
public struct ClipList: Sendable {
  /// One line of a list.
  public struct Entry: Sendable, Equatable {
    /// The path as resolved (list folder + relative path, or the absolute path).
    public var path: String
    /// The class index.
    public var label: Int
    /// 1-based line number in the list file.
    public var line: Int
    /// An entry of `path` with class `label`, from line `line`.
    public init(path: String, label: Int, line: Int) {
      self.path = path
      self.label = label
      self.line = line
    }
  }

  /// The list file.
  public var path: String
  /// The well-formed lines, in file order.
  public var entries: [Entry]
  /// Malformed lines that were skipped (only with `skipBadLines`), each naming file and line.
  public var badLines: [ListError] = []

  /// Reads and parses the list at `path`.
  /// - Parameters:
  ///   - labelNames: class names, index = label; lets lines use names instead of integers.
  ///   - classCount: when set, integer labels must be in `0..<classCount`.
  ///   - skipBadLines: record malformed lines in `badLines` and go on, instead of throwing.
  /// - Throws: `ListError` naming the file (and line).
  public init(
    contentsOf path: String, labelNames: [String] = [], classCount: Int? = nil,
    skipBadLines: Bool = false
  ) throws {
    let bytes = try ListLine.read(path, labels: false)
    try self.init(
      lines: ListLine.split(bytes), path: path, labelNames: labelNames,
      classCount: classCount, skipBadLines: skipBadLines)
  }

  /// Parses list text as if read from `path` (for relative paths and messages).
  public init(
    text: String, path: String, labelNames: [String] = [], classCount: Int? = nil,
    skipBadLines: Bool = false
  ) throws {
    try self.init(
      lines: ListLine.split(Array(text.utf8)), path: path, labelNames: labelNames,
      classCount: classCount, skipBadLines: skipBadLines)
  }

  private init(
    lines: [ListLine], path: String, labelNames: [String], classCount: Int?,
    skipBadLines: Bool
  ) throws {
    self.path = path
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
    var names: [String: Int] = [:]
    for (i, n) in labelNames.enumerated() { names[n] = i }
    let limit = classCount ?? (labelNames.isEmpty ? nil : labelNames.count)
    var entries: [Entry] = []
    var bad: [ListError] = []
    for line in lines {
      do {
        if line.isComment { continue }
        let content = try line.content(path: path)
        if content.isEmpty { continue }
        guard let (file, labelField) = ListLine.pathAndLabel(content) else {
          throw ListError(path: path, line: line.number, .missingLabel)
        }
        let label: Int
        if let value = Int(labelField) {
          label = value
        } else if let value = names[labelField] {
          label = value
        } else {
          throw ListError(
            path: path, line: line.number,
            names.isEmpty ? .labelNotAnInteger(labelField) : .unknownLabel(labelField))
        }
        if label < 0 || (limit.map { label >= $0 } ?? false) {
          throw ListError(
            path: path, line: line.number, .labelOutOfRange(label, classes: limit))
        }
        let resolved = file.hasPrefix("/") ? file : folder.appendingPathComponent(file).path
        entries.append(Entry(path: resolved, label: label, line: line.number))
      } catch let error as ListError where skipBadLines {
        bad.append(error)
      }
    }
    self.entries = entries
    self.badLines = bad
  }

  /// Reads a labels file: one class name per line, in label order. Lines end in LF or CRLF;
  /// whitespace around a name is not part of it; blank lines and lines whose first non-blank
  /// character is `#` are skipped.
  ///
  /// - Throws: `ListError` naming the file when it cannot be read, or the file and line when a
  ///   line is not UTF-8 (a skipped name would shift every later label, so it is never
  ///   skipped silently), or names a class twice (a list's name would then mean either).
  public static func labelNames(contentsOf path: String) throws -> [String] {
    let bytes = try ListLine.read(path, labels: true)
    var names: [String] = []
    var firstLine: [String: Int] = [:]
    for line in ListLine.split(bytes) where !line.isComment {
      let name = try line.content(path: path)
      if name.isEmpty { continue }
      if let first = firstLine[name] {
        throw ListError(path: path, line: line.number, .repeatedClassName(name, firstLine: first))
      }
      firstLine[name] = line.number
      names.append(name)
    }
    return names
  }
}

/// One line of a list or labels file, split on LF bytes (so CRLF works), before decoding.
struct ListLine {
  /// 1-based line number.
  var number: Int
  /// The line's bytes without its LF.
  var bytes: ArraySlice<UInt8>

  /// The longest line accepted, in bytes (a path is at most 4096 bytes on Linux).
  static let maxBytes = 65_536
  /// The largest list or labels file read, in bytes (parsing takes about ten times as much
  /// memory; a list of a million clips is some 100 MB).
  static let maxFileBytes = 512 << 20

  /// The bytes of the list (or, with `labels`, the labels file) at `path`, read 1 MiB at a
  /// time and never more than `maxFileBytes` + 1: a file's size is checked before reading, and
  /// a pipe (`--train <(…)`), whose size is unknown, is refused once it has sent more.
  /// - Throws: `ListError` when it cannot be read or is larger than `maxFileBytes`.
  static func read(_ path: String, labels: Bool) throws -> Data {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?
      .intValue
    if let size, size > maxFileBytes {
      throw ListError(path: path, line: nil, .tooLarge(bytes: size, labels: labels))
    }
    func unreadable(_ reason: String) -> ListError {
      ListError(
        path: path, line: nil, labels ? .unreadableLabels(reason) : .unreadableList(reason))
    }
    // Say why: a missing file and a folder are the usual slips (a folder opens, then fails).
    var info = stat()
    guard stat(path, &info) == 0 else {
      throw unreadable(errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
    }
    if info.st_mode & S_IFMT == S_IFDIR { throw unreadable("it is a folder") }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw unreadable(String(cString: strerror(errno)))
    }
    defer { try? handle.close() }
    var data = Data()
    while true {
      let chunk: Data?
      do { chunk = try handle.read(upToCount: 1 << 20) } catch {
        throw unreadable(error.localizedDescription)
      }
      guard let chunk, !chunk.isEmpty else { return data }
      data.append(chunk)
      if data.count > maxFileBytes {
        throw ListError(path: path, line: nil, .tooLarge(bytes: data.count, labels: labels))
      }
    }
  }

  /// The lines of `data`; a final line without LF counts, an empty one after the last LF
  /// does not. A UTF-8 byte order mark at the start is dropped.
  static func split<Bytes: Collection<UInt8>>(_ data: Bytes) -> [ListLine] {
    var all = Array(data)[...]
    if all.starts(with: [0xEF, 0xBB, 0xBF]) { all = all.dropFirst(3) }
    var lines: [ListLine] = []
    var start = all.startIndex
    for i in all.indices where all[i] == 0x0A {
      lines.append(ListLine(number: lines.count + 1, bytes: all[start..<i]))
      start = i + 1
    }
    if start < all.endIndex {
      lines.append(ListLine(number: lines.count + 1, bytes: all[start...]))
    }
    return lines
  }

  /// Whether the first non-blank byte is `#`: a comment, skipped whatever follows (any length,
  /// any bytes), since nothing in it is read.
  var isComment: Bool {
    bytes.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D } == UInt8(ascii: "#")
  }

  /// The line as text, without leading and trailing whitespace (spaces, tabs, CR).
  /// - Throws: `ListError` naming `path` and the line when the bytes are not UTF-8.
  func content(path: String) throws -> String {
    // A path and a label fit in far fewer bytes; a giant line would only be echoed back in
    // messages (and copied per entry).
    guard bytes.count <= ListLine.maxBytes else {
      throw ListError(path: path, line: number, .lineTooLong(bytes: bytes.count))
    }
    if let (column, byte) = firstInvalidByte() {
      throw ListError(path: path, line: number, .notUTF8(column: column, byte: byte))
    }
    let text = String(decoding: bytes, as: UTF8.self)
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !Self.isBlank($0) }),
      let last = scalars.lastIndex(where: { !Self.isBlank($0) })
    else { return "" }
    return String(scalars[first...last])
  }

  /// The 1-based byte column and value of the first byte that does not decode as UTF-8.
  private func firstInvalidByte() -> (Int, UInt8)? {
    var iterator = bytes.makeIterator()
    var parser = Unicode.UTF8.ForwardParser()
    var offset = 0
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let encoded): offset += encoded.count
      case .emptyInput: return nil
      case .error:
        let i = bytes.startIndex + offset
        return (offset + 1, i < bytes.endIndex ? bytes[i] : 0)
      }
    }
  }

  static func isBlank(_ s: Unicode.Scalar) -> Bool { s == " " || s == "\t" || s == "\r" }

  /// Splits a trimmed, non-empty line at the last run of blanks: the path before it (verbatim),
  /// the label after it. Nil when there is no blank (a label without a path, or the reverse).
  static func pathAndLabel(_ line: String) -> (path: String, label: String)? {
    let scalars = line.unicodeScalars
    guard let lastBlank = scalars.lastIndex(where: isBlank) else { return nil }
    var pathEnd = lastBlank
    while pathEnd > scalars.startIndex, isBlank(scalars[scalars.index(before: pathEnd)]) {
      pathEnd = scalars.index(before: pathEnd)
    }
    let label = String(scalars[scalars.index(after: lastBlank)...])
    let path = String(scalars[..<pathEnd])
    guard !path.isEmpty, !label.isEmpty else { return nil }
    return (path, label)
  }
}

/// A problem with a list file, naming the file and, when it is about one line, the line:
/// `train.txt:12: label 9 out of range 0..<8`.
public struct ListError: Error, CustomStringConvertible, Sendable, Equatable {
  /// What is wrong, with the values involved (the rejected label, the bad byte).
  public enum Kind: Sendable, Equatable {
    /// The list file cannot be read, and why (`no such file`, `it is a folder`, …).
    case unreadableList(String)
    /// The labels file cannot be read, and why.
    case unreadableLabels(String)
    /// A line's bytes are not UTF-8: the first bad `byte`, at 1-based byte `column`.
    case notUTF8(column: Int, byte: UInt8)
    /// A line without both a path and a label.
    case missingLabel
    /// A label that is a name where no class names are known.
    case labelNotAnInteger(String)
    /// A label name that is not among the class names.
    case unknownLabel(String)
    /// An integer label below 0 or not below the class count (`classes`, when known).
    case labelOutOfRange(Int, classes: Int?)
    /// The file has more bytes than a list (or, with `labels`, a labels file) may have: its
    /// size, or for a pipe the bytes read when it was refused.
    case tooLarge(bytes: Int, labels: Bool)
    /// A line longer than any path and label (its length in bytes).
    case lineTooLong(bytes: Int)
    /// A labels file names a class again (first named on `firstLine`).
    case repeatedClassName(String, firstLine: Int)
  }

  /// The list or labels file.
  public var path: String
  /// The 1-based line, or nil when the problem is the whole file.
  public var line: Int?
  /// What is wrong.
  public var kind: Kind

  /// A problem with `path` (at `line`, when set).
  public init(path: String, line: Int?, _ kind: Kind) {
    self.path = path
    self.line = line
    self.kind = kind
  }

  /// The label as written on the line, when the problem is a label that is not a class
  /// (`.labelNotAnInteger`, `.unknownLabel`, `.labelOutOfRange`); nil otherwise.
  public var rejectedLabel: String? {
    switch kind {
    case .labelNotAnInteger(let label), .unknownLabel(let label): return label
    case .labelOutOfRange(let label, _): return String(label)
    case .unreadableList, .unreadableLabels, .notUTF8, .missingLabel, .tooLarge, .lineTooLong,
      .repeatedClassName:
      return nil
    }
  }

  /// What is wrong, in words: `label 9 out of range 0..<8`.
  public var message: String {
    switch kind {
    case .unreadableList(let reason): return "cannot read the list: \(reason)"
    case .unreadableLabels(let reason): return "cannot read the labels file: \(reason)"
    case .notUTF8(let column, let byte):
      let hex = String(byte, radix: 16, uppercase: true)
      return "not UTF-8 text (byte 0x\(hex.count < 2 ? "0" + hex : hex) at column \(column))"
    case .missingLabel: return "expected `path label`"
    case .labelNotAnInteger(let label): return "label `\(label)` is not an integer"
    case .unknownLabel(let label): return "unknown label `\(label)`"
    case .labelOutOfRange(let label, let classes):
      return "label \(label) out of range \(classes.map { "0..<\($0)" } ?? "≥ 0")"
    case .tooLarge(let bytes, let labels):
      return "\(labels ? "the labels file" : "the list") of \(bytes) bytes is larger than "
        + "\(ListLine.maxFileBytes >> 20) MiB"
    case .lineTooLong(let bytes):
      return "a line of \(bytes) bytes (at most \(ListLine.maxBytes): a path and a label)"
    case .repeatedClassName(let name, let first):
      return "class name `\(name)` again (first on line \(first)); names must be distinct"
    }
  }

  /// `path:line: message`, or `path: message`.
  public var description: String {
    line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)"
  }
}
