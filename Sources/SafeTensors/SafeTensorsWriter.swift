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
  public mutating func add(_ name: String, shape: [Int], floats: UnsafeBufferPointer<Float>) throws {
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
      throw SafeTensorsError(path: "(writer)", .valueCountMismatch(key: name, shape: shape, count: count))
    }
  }

  /// The header JSON (unpadded): keys sorted, `__metadata__` first when present.
  func headerJSON() -> String {
    var parts: [String] = []
    if !metadata.isEmpty {
      let meta = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
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

  /// Writes the file atomically: into a temporary file in the same folder, fsync, rename.
  /// A failure leaves any existing file at `path` untouched and removes the temporary file.
  public func write(to path: String) throws {
    var header = Array(headerJSON().utf8)
    while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent().path
    let temp = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else {
      throw SafeTensorsError(path: path, .writeFailed(reason: "cannot create \(temp): \(errnoText())"))
    }
    var ok = false
    defer {
      if !ok {
        close(fd)
        unlink(temp)
      }
    }
    var length = UInt64(header.count).littleEndian
    try withUnsafeBytes(of: &length) { try writeAll(fd, $0, path: path) }
    try header.withUnsafeBytes { try writeAll(fd, $0, path: path) }
    for name in keys {
      guard let e = entries[name] else { continue }
      switch e.payload {
      case .f32(let v): try v.withUnsafeBytes { try writeAll(fd, $0, path: path) }
      case .i64(let v): try v.map { $0.littleEndian }.withUnsafeBytes { try writeAll(fd, $0, path: path) }
      }
    }
    guard fsync(fd) == 0 else { throw SafeTensorsError(path: path, .writeFailed(reason: "fsync: \(errnoText())")) }
    guard close(fd) == 0 else {
      ok = true  // the descriptor is gone either way
      unlink(temp)
      throw SafeTensorsError(path: path, .writeFailed(reason: "close: \(errnoText())"))
    }
    ok = true
    guard rename(temp, path) == 0 else {
      let reason = errnoText()
      unlink(temp)
      throw SafeTensorsError(path: path, .writeFailed(reason: "rename: \(reason)"))
    }
    // Make the rename itself durable.
    let dirfd = open(folder.isEmpty ? "." : folder, O_RDONLY)
    if dirfd >= 0 {
      _ = fsync(dirfd)
      close(dirfd)
    }
  }
}

private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
  guard var p = bytes.baseAddress else { return }
  var left = bytes.count
  while left > 0 {
    let n = write(fd, p, min(left, 1 << 30))
    if n < 0 {
      if errno == EINTR { continue }
      throw SafeTensorsError(path: path, .writeFailed(reason: errnoText()))
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
