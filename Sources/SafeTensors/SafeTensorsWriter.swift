import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Builds a safetensors file: tensors (F32 or I64) and `__metadata__` strings, written
/// atomically with keys sorted and the header padded with spaces to a multiple of 8 bytes.
///
/// ```
/// var w = SafeTensorsWriter(metadata: ["kind": "image"])
/// try w.add("head.weight", shape: [10, 768], floats: weights)
/// try w.write(to: "model.safetensors")
/// ```
public struct SafeTensorsWriter: Sendable {
  enum Payload: Sendable {
    case f32([Float])
    case i64([Int64])

    var dtype: DType {
      switch self {
      case .f32: return .f32
      case .i64: return .i64
      }
    }
    var byteCount: Int {
      switch self {
      case .f32(let v): return v.count * 4
      case .i64(let v): return v.count * 8
      }
    }
  }

  /// Strings stored under `__metadata__`.
  public var metadata: [String: String]
  private var entries: [String: (shape: [Int], payload: Payload)] = [:]

  public init(metadata: [String: String] = [:]) {
    self.metadata = metadata
  }

  /// Names added so far, sorted.
  public var keys: [String] { entries.keys.sorted() }

  /// Adds a Float32 tensor. Throws if the name is taken or the values do not fill the shape.
  public mutating func add(_ name: String, shape: [Int], floats: [Float]) throws {
    try check(name, shape: shape, count: floats.count)
    entries[name] = (shape, .f32(floats))
  }

  /// Adds a Float32 tensor copied from a buffer.
  public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) throws
  {
    try add(name, shape: shape, floats: Array(floats))
  }

  /// Adds an Int64 tensor.
  public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) throws {
    try check(name, shape: shape, count: int64s.count)
    entries[name] = (shape, .i64(int64s))
  }

  private func check(_ name: String, shape: [Int], count: Int) throws {
    if name == "__metadata__" || entries[name] != nil {
      throw SafeTensorsError(path: "(writer)", .duplicateKey(key: name))
    }
    if shape.contains(where: { $0 < 0 }) || shape.reduce(1, *) != count {
      throw SafeTensorsError(
        path: "(writer)", .valueCountMismatch(key: name, shape: shape, count: count))
    }
  }

  /// The header JSON (unpadded): keys sorted, `__metadata__` first when present.
  func headerJSON() -> String {
    var parts: [String] = []
    if !metadata.isEmpty {
      let meta = metadata.keys.sorted().map {
        "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))"
      }
      parts.append("\"__metadata__\":{\(meta.joined(separator: ","))}")
    }
    var offset = 0
    for name in keys {
      guard let e = entries[name] else { continue }
      let end = offset + e.payload.byteCount
      let shape = e.shape.map(String.init).joined(separator: ",")
      parts.append(
        "\(jsonString(name)):{\"dtype\":\"\(e.payload.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}"
      )
      offset = end
    }
    return "{" + parts.joined(separator: ",") + "}"
  }

  /// Writes the file atomically (`AtomicFile.write`): a temporary file in the same folder,
  /// fsync, rename. A failure leaves any existing file at `path` untouched and removes the
  /// temporary file.
  public func write(to path: String) throws {
    var header = Array(headerJSON().utf8)
    while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
    do {
      try AtomicFile.write(to: path) { fd in
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try writeAll(fd, $0) }
        try header.withUnsafeBytes { try writeAll(fd, $0) }
        for name in keys {
          guard let e = entries[name] else { continue }
          switch e.payload {
          case .f32(let v): try v.withUnsafeBytes { try writeAll(fd, $0) }
          case .i64(let v): try v.map { $0.littleEndian }.withUnsafeBytes { try writeAll(fd, $0) }
          }
        }
      }
    } catch let e as AtomicFileError {
      throw SafeTensorsError(path: path, .writeFailed(reason: e.reason))
    }
  }
}

/// A file that could not be written: `PATH: reason`, one line.
public struct AtomicFileError: Error, CustomStringConvertible, Equatable, Sendable {
  public var path: String
  public var reason: String
  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }
  public var description: String { "\(path): \(reason)" }
}

/// Atomic writes (temporary file in the same folder, fsync, rename, fsync of the folder) under
/// one temporary-name pattern, `.NAME.tmp-PID-RANDOM`, so that a run folder can recognise and
/// remove the temporaries a killed process left (`removeStaleTemporaries`).
public enum AtomicFile {
  /// Writes `bytes` to `path` atomically. Throws `AtomicFileError` naming `path`.
  public static func write(_ bytes: [UInt8], to path: String) throws {
    try write(to: path) { fd in try bytes.withUnsafeBytes { try writeAll(fd, $0) } }
  }

  /// Writes UTF-8 `text` to `path` atomically. Throws `AtomicFileError` naming `path`.
  public static func write(_ text: String, to path: String) throws {
    try write(Array(text.utf8), to: path)
  }

  /// The temporary name a write to `path` uses: `.NAME.tmp-PID-RANDOM` in the same folder.
  public static func temporaryPath(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    return folder + "/." + url.lastPathComponent
      + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  }

  /// Whether `name` (a file name, no folder) is a temporary of an atomic write, and the id of
  /// the process that made it when the name records one. Recognised: this package's
  /// `.NAME.tmp-PID-RANDOM` and Foundation's `.dat.nosyncPIDHEX.XXXXXX`
  /// (`Data.write(options: .atomic)`, which earlier versions used).
  public static func temporaryOwner(_ name: String) -> (isTemporary: Bool, pid: Int32?) {
    guard name.hasPrefix(".") else { return (false, nil) }
    if name.hasPrefix(".dat.nosync") {
      let rest = name.dropFirst(".dat.nosync".count)
      let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[1].isEmpty else { return (false, nil) }
      return (true, Int32(parts[0], radix: 16))
    }
    guard let range = name.range(of: ".tmp-", options: .backwards),
      range.lowerBound > name.index(after: name.startIndex)
    else { return (false, nil) }
    let parts = name[range.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2, let pid = Int32(parts[0]), UInt32(parts[1]) != nil else {
      return (false, nil)
    }
    return (true, pid)
  }

  /// Removes from `folder` the temporaries (`temporaryOwner`) whose process is no longer
  /// running (or is not recorded); returns the names removed. Other files are never touched,
  /// nor temporaries of a live process (another write may be under way).
  @discardableResult
  public static func removeStaleTemporaries(in folder: String) -> [String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
      return []
    }
    var removed: [String] = []
    for name in names.sorted() {
      let owner = temporaryOwner(name)
      guard owner.isTemporary else { continue }
      if let pid = owner.pid, pid > 0, kill(pid, 0) == 0 || errno == EPERM { continue }
      let path = folder + "/" + name
      var info = stat()
      guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
      if unlink(path) == 0 { removed.append(name) }
    }
    return removed
  }

  /// Creates the temporary, lets `body` fill it through its descriptor, fsyncs, renames it to
  /// `path` and fsyncs the folder. On any failure the temporary is removed and `path` is left
  /// as it was. `body`'s errors are rethrown as `AtomicFileError` naming `path`.
  public static func write(to path: String, _ body: (Int32) throws -> Void) throws {
    // The rename would replace a device, FIFO or socket at `path` with a regular file (run as
    // root, `--output /dev/null` replaced /dev/null): such a path is refused.
    if let kind = specialFileKind(path) {
      throw AtomicFileError(path: path, reason: "\(kind), not a regular file; give a file path")
    }
    let temp = temporaryPath(for: path)
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw AtomicFileError(path: path, reason: "cannot create a file in \(folder): \(errnoText())")
    }
    var isOpen = true
    defer {
      if isOpen { close(fd) }
      unlink(temp)  // after a successful rename the name is gone and this fails harmlessly
    }
    do {
      try body(fd)
    } catch let e as WriteFailure {
      throw AtomicFileError(path: path, reason: e.reason)
    }
    guard fsync(fd) == 0 else { throw AtomicFileError(path: path, reason: "fsync: \(errnoText())") }
    isOpen = false
    guard close(fd) == 0 else { throw AtomicFileError(path: path, reason: "close: \(errnoText())") }
    guard rename(temp, path) == 0 else { throw AtomicFileError(path: path, reason: errnoText()) }
    // Make the rename itself durable.
    let dirfd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
    if dirfd >= 0 {
      _ = fsync(dirfd)
      close(dirfd)
    }
  }
}

extension AtomicFile {
  /// What `path` is when it names a device, FIFO or socket (not following a final symbolic
  /// link, which a rename replaces harmlessly); nil for anything else, including no file.
  static func specialFileKind(_ path: String) -> String? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    switch info.st_mode & S_IFMT {
    case S_IFCHR, S_IFBLK: return "a device"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFSOCK: return "a socket"
    default: return nil
    }
  }
}

/// A failed `write(2)`, turned into `AtomicFileError` by `AtomicFile.write`.
struct WriteFailure: Error {
  var reason: String
}

/// Writes every byte to `fd` (retrying short writes and EINTR); throws `WriteFailure`, which
/// `AtomicFile.write(to:_:)` reports naming the file.
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
  guard var p = bytes.baseAddress else { return }
  var left = bytes.count
  while left > 0 {
    let n = write(fd, p, min(left, 1 << 30))
    if n < 0 {
      if errno == EINTR { continue }
      throw WriteFailure(reason: errnoText())
    }
    p += n
    left -= n
  }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

/// A JSON string literal for `s` (quotes, backslashes and control characters escaped).
func jsonString(_ s: String) -> String {
  var out = "\""
  for scalar in s.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    default:
      if scalar.value < 0x20 {
        out += String(format: "\\u%04x", scalar.value)
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
  }
  return out + "\""
}
