// SafeTensors: reading and writing the safetensors format (see README.md beside this file).
//
// Layout of a file:
//   [8 bytes]  N, the header length, little-endian UInt64
//   [N bytes]  JSON object: {key: {"dtype", "shape", "data_offsets": [begin, end]},
//              "__metadata__": {string: string}}, possibly padded with spaces
//   [rest]     the data section; offsets are relative to its start, entries tile it exactly.
import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// Element types the format defines, with their sizes in bytes.
public enum DType: String, Sendable, CaseIterable {
  case bool = "BOOL"
  case u8 = "U8"
  case i8 = "I8"
  case i16 = "I16"
  case u16 = "U16"
  case f16 = "F16"
  case bf16 = "BF16"
  case i32 = "I32"
  case u32 = "U32"
  case f32 = "F32"
  case f64 = "F64"
  case i64 = "I64"
  case u64 = "U64"

  /// Bytes per element.
  public var size: Int {
    switch self {
    case .bool, .u8, .i8: return 1
    case .i16, .u16, .f16, .bf16: return 2
    case .i32, .u32, .f32: return 4
    case .f64, .i64, .u64: return 8
    }
  }
}

/// One tensor of a safetensors file: its name, dtype, shape and raw little-endian bytes.
public struct TensorEntry: Sendable {
  public var name: String
  public var dtype: DType
  public var shape: [Int]
  /// The tensor's bytes (a slice of the file's bytes when read from disk).
  public var data: Data

  /// An entry of `shape` whose bytes are `data` (little-endian `dtype` values, row-major).
  /// Precondition: `data.count == count · dtype.size` (readers check this before building one).
  public init(name: String, dtype: DType, shape: [Int], data: Data) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.data = data
  }

  /// Number of elements, the product of `shape` (1 for a scalar).
  public var count: Int { shape.reduce(1, *) }
}

/// A safetensors file read into memory (read once with `pread`; tensors are slices of those bytes).
public struct SafeTensorsFile: Sendable {
  /// The path the file was read from (used in error messages).
  public var path: String
  /// The `__metadata__` strings.
  public var metadata: [String: String]
  /// Every tensor by name.
  public var tensors: [String: TensorEntry]

  /// Tensor names, sorted.
  public var keys: [String] { tensors.keys.sorted() }

  public init(path: String, metadata: [String: String], tensors: [String: TensorEntry]) {
    self.path = path
    self.metadata = metadata
    self.tensors = tensors
  }

  /// Reads and validates a file: header length, JSON, dtypes, sizes, and offsets that tile the
  /// data section exactly (no overlap, no gap, nothing past the end, nothing left over).
  public static func read(path: String) throws -> SafeTensorsFile {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
      throw SafeTensorsError(path: path, .missingFile)
    }
    if isDir.boolValue { throw SafeTensorsError(path: path, .unreadable(reason: "it is a folder")) }
    return try parse(try readWholeFile(path: path), path: path)
  }

  /// True when the file starts as a safetensors file does: an 8-byte header length that fits in
  /// the file, then `{`. Cheap: reads 9 bytes. False for anything unreadable.
  public static func looksLikeSafeTensors(path: String) -> Bool {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // a FIFO must not block
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var st = stat()
    var head = [UInt8](repeating: 0, count: 9)
    guard fstat(fd, &st) == 0, pread(fd, &head, 9, 0) == 9 else { return false }
    let length = head.prefix(8).enumerated().reduce(UInt64(0)) {
      $0 | UInt64($1.element) << (8 * UInt64($1.offset))
    }
    return head[8] == UInt8(ascii: "{") && length <= UInt64(max(0, Int(st.st_size) - 8))
  }

  /// The bytes of a file, read with `pread` into memory owned by the process (never a memory
  /// map: a file overwritten or truncated while it is read would otherwise end in SIGBUS). A file
  /// that shrinks while it is read is an error; one that grows is read to its size at open.
  public static func readWholeFile(path: String) throws -> Data {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // a FIFO must not block
    guard fd >= 0 else {
      throw SafeTensorsError(path: path, .unreadable(reason: String(cString: strerror(errno))))
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      throw SafeTensorsError(path: path, .unreadable(reason: String(cString: strerror(errno))))
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      throw SafeTensorsError(path: path, .unreadable(reason: "not a regular file"))
    }
    let size = Int(st.st_size)
    var data = Data(count: size)
    try data.withUnsafeMutableBytes { (buffer: UnsafeMutableRawBufferPointer) in
      guard let base = buffer.baseAddress else { return }
      do throws(PositionalReadFailure) {
        try readFully(descriptor: fd, offset: 0, count: size, into: base)
      } catch .endOfFile(let got) {
        throw SafeTensorsError(
          path: path,
          .unreadable(reason: "the file shrank from \(size) to \(got) bytes while it was read"))
      } catch {
        throw SafeTensorsError(path: path, .unreadable(reason: error.reason))
      }
    }
    return data
  }

  /// Parses the bytes of a whole file. `path` only names the file in errors.
  public static func parse(_ bytes: Data, path: String) throws -> SafeTensorsFile {
    let fileSize = bytes.count
    // Another format (a video, an image, a zip) is named rather than parsed as a header.
    if let kind = FileKind.recognise(bytes.prefix(FileKind.prefixLength), fileSize: fileSize),
      kind.category != .safeTensors
    {
      throw SafeTensorsError(path: path, .notSafeTensors(kind: kind.description))
    }
    guard fileSize >= 8 else { throw SafeTensorsError(path: path, .truncated(fileSize: fileSize)) }
    let start = bytes.startIndex
    var headerLength: UInt64 = 0
    for i in 0..<8 { headerLength |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
    guard headerLength <= UInt64(fileSize - 8) else {
      throw SafeTensorsError(
        path: path, .headerBeyondFile(headerLength: headerLength, fileSize: fileSize))
    }
    let headerEnd = 8 + Int(headerLength)
    let header = bytes.subdata(in: (start + 8)..<(start + headerEnd))
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: header, options: [])
    } catch {
      throw SafeTensorsError(path: path, .invalidJSON(reason: "the header does not parse as JSON"))
    }
    guard let object = json as? [String: Any] else {
      throw SafeTensorsError(path: path, .invalidJSON(reason: "the header is not a JSON object"))
    }

    var metadata: [String: String] = [:]
    if let meta = object["__metadata__"] {
      guard let dict = meta as? [String: Any] else {
        throw SafeTensorsError(path: path, .invalidJSON(reason: "__metadata__ is not an object"))
      }
      for (k, v) in dict {
        guard let s = v as? String else {
          throw SafeTensorsError(
            path: path, .invalidJSON(reason: "__metadata__ value for '\(k)' is not a string"))
        }
        metadata[k] = s
      }
    }

    let dataSize = fileSize - headerEnd
    var parsed: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
    for (name, value) in object where name != "__metadata__" {
      guard let entry = value as? [String: Any] else {
        throw SafeTensorsError(
          path: path, .invalidEntry(key: name, reason: "entry is not an object"))
      }
      guard let dtypeName = entry["dtype"] as? String else {
        throw SafeTensorsError(path: path, .invalidEntry(key: name, reason: "missing dtype"))
      }
      guard let dtype = DType(rawValue: dtypeName) else {
        throw SafeTensorsError(path: path, .unknownDType(key: name, dtype: dtypeName))
      }
      guard let shape = integers(entry["shape"]) else {
        throw SafeTensorsError(
          path: path,
          .invalidEntry(key: name, reason: "shape is not a list of non-negative integers"))
      }
      guard let offsets = integers(entry["data_offsets"]), offsets.count == 2,
        offsets[0] <= offsets[1]
      else {
        throw SafeTensorsError(
          path: path,
          .invalidEntry(key: name, reason: "data_offsets is not [begin, end] with begin ≤ end"))
      }
      // Overflow-safe element count: a shape whose byte size exceeds the file cannot fit anyway.
      var elements = 1
      var overflow = false
      for d in shape {
        let (p, o) = elements.multipliedReportingOverflow(by: d)
        if o { overflow = true; break }
        elements = p
      }
      let (expected, o2) = elements.multipliedReportingOverflow(by: dtype.size)
      let actual = offsets[1] - offsets[0]
      if overflow || o2 || expected != actual {
        throw SafeTensorsError(
          path: path,
          .sizeMismatch(
            key: name, shape: shape, dtype: dtypeName,
            expectedBytes: overflow || o2 ? Int.max : expected,
            actualBytes: actual))
      }
      parsed.append((name, dtype, shape, offsets[0], offsets[1]))
    }

    // The entries must tile [0, dataSize) exactly. Zero-length entries may sit anywhere in order.
    parsed.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    var cursor = 0
    var previous = ""
    for e in parsed {
      if e.end > dataSize {
        throw SafeTensorsError(
          path: path, .offsetsBeyondData(key: e.name, end: e.end, dataSize: dataSize))
      }
      if e.begin < cursor {
        throw SafeTensorsError(path: path, .overlappingOffsets(key: e.name, other: previous))
      }
      if e.begin > cursor {
        throw SafeTensorsError(
          path: path, .gapInOffsets(key: e.name, expectedBegin: cursor, begin: e.begin))
      }
      if e.end > e.begin {
        cursor = e.end
        previous = e.name
      }
    }
    if cursor != dataSize {
      throw SafeTensorsError(path: path, .trailingData(covered: cursor, dataSize: dataSize))
    }

    var tensors: [String: TensorEntry] = [:]
    let dataStart = start + headerEnd
    for e in parsed {
      let slice = bytes[(dataStart + e.begin)..<(dataStart + e.end)]
      tensors[e.name] = TensorEntry(name: e.name, dtype: e.dtype, shape: e.shape, data: slice)
    }
    return SafeTensorsFile(path: path, metadata: metadata, tensors: tensors)
  }

  /// The entry for `key`, or an error naming the file and key.
  public func entry(_ key: String) throws -> TensorEntry {
    guard let e = tensors[key] else { throw SafeTensorsError(path: path, .missingKey(key: key)) }
    return e
  }

  /// The tensor `key` converted to Float32 (from F32, F16, BF16, F64, I64, I32 and the other
  /// integer types), with its shape.
  public func floats(_ key: String) throws -> (shape: [Int], values: [Float]) {
    let e = try entry(key)
    let n = e.count
    var out = [Float](repeating: 0, count: n)
    try out.withUnsafeMutableBufferPointer { dst in
      guard let d = dst.baseAddress else { return }
      try e.data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        try convertToFloat(raw, dtype: e.dtype, count: n, into: d, key: key)
      }
    }
    return (e.shape, out)
  }

  /// Copies the tensor `key`, converted to Float32, into `destination` (which holds at least
  /// `count` elements) without an intermediate array. Returns the shape.
  @discardableResult
  public func copyFloats(_ key: String, into destination: UnsafeMutablePointer<Float>) throws
    -> [Int]
  {
    let e = try entry(key)
    try e.data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      try convertToFloat(raw, dtype: e.dtype, count: e.count, into: destination, key: key)
    }
    return e.shape
  }

  /// The tensor `key` as Int64 values (from any integer dtype), with its shape.
  public func int64s(_ key: String) throws -> (shape: [Int], values: [Int64]) {
    let e = try entry(key)
    let n = e.count
    var out = [Int64](repeating: 0, count: n)
    try e.data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      for i in 0..<n {
        switch e.dtype {
        case .i64: out[i] = raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self).littleEndian
        case .u64:
          out[i] = Int64(
            truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
              .littleEndian)
        case .i32:
          out[i] = Int64(raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self).littleEndian)
        case .u32:
          out[i] = Int64(raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
        case .i16:
          out[i] = Int64(raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self).littleEndian)
        case .u16:
          out[i] = Int64(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
        case .i8: out[i] = Int64(Int8(bitPattern: raw[i]))
        case .u8, .bool: out[i] = Int64(raw[i])
        case .f16, .bf16, .f32, .f64:
          throw SafeTensorsError(
            path: path, .unsupportedConversion(key: key, dtype: e.dtype.rawValue, to: "Int64"))
        }
      }
    }
    return (e.shape, out)
  }

  private func convertToFloat(
    _ raw: UnsafeRawBufferPointer, dtype: DType, count n: Int, into d: UnsafeMutablePointer<Float>,
    key: String
  ) throws {
    switch dtype {
    case .f32:
      // One bulk copy (the platforms this builds for are little-endian).
      if n > 0, let base = raw.baseAddress {
        UnsafeMutableRawPointer(d).copyMemory(from: base, byteCount: n * 4)
      }
    case .f16:
      for i in 0..<n {
        d[i] = halfToFloat(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
      }
    case .bf16:
      for i in 0..<n {
        let bits =
          UInt32(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian) << 16
        d[i] = Float(bitPattern: bits)
      }
    case .f64:
      for i in 0..<n {
        d[i] = Float(
          Double(bitPattern: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian)
        )
      }
    case .i64:
      for i in 0..<n {
        d[i] = Float(raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self).littleEndian)
      }
    case .u64:
      for i in 0..<n {
        d[i] = Float(raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian)
      }
    case .i32:
      for i in 0..<n {
        d[i] = Float(raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self).littleEndian)
      }
    case .u32:
      for i in 0..<n {
        d[i] = Float(raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian)
      }
    case .i16:
      for i in 0..<n {
        d[i] = Float(raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self).littleEndian)
      }
    case .u16:
      for i in 0..<n {
        d[i] = Float(raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian)
      }
    case .i8:
      for i in 0..<n { d[i] = Float(Int8(bitPattern: raw[i])) }
    case .u8, .bool:
      for i in 0..<n { d[i] = Float(raw[i]) }
    }
  }
}

/// IEEE 754 half precision bits to Float32 (subnormals, infinities and NaN included).
func halfToFloat(_ h: UInt16) -> Float {
  let sign = UInt32(h & 0x8000) << 16
  let exponent = Int((h >> 10) & 0x1F)
  let mantissa = UInt32(h & 0x3FF)
  if exponent == 0 {
    // Zero or subnormal: mantissa · 2^-24.
    let v = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
    return sign != 0 ? -v : v
  }
  if exponent == 31 {
    return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
  }
  return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
}

/// The non-negative integers of a JSON array, or nil if it is anything else.
private func integers(_ value: Any?) -> [Int]? {
  guard let list = value as? [Any] else { return nil }
  var out: [Int] = []
  out.reserveCapacity(list.count)
  for item in list {
    guard let number = item as? NSNumber else { return nil }
    // Reject non-integral numbers, which JSONSerialization also returns as NSNumber.
    let d = number.doubleValue
    guard d >= 0, d == d.rounded(), d < 9.0e18 else { return nil }
    out.append(number.intValue)
  }
  return out
}
