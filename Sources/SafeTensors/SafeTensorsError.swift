/// Everything that can go wrong reading or writing a safetensors file.
///
/// Every error names the file and, where one is involved, the tensor key; `description` is one
/// sentence a person can act on (commands print it after `error:`).
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Equatable, Sendable {
    /// No file at the path.
    case missingFile
    /// The file exists but could not be read (permissions, a folder, an I/O error).
    case unreadable(reason: String)
    /// The file's first bytes say it is something else (`kind`: `a video (Matroska/WebM)`).
    case notSafeTensors(kind: String)
    /// Fewer than the 8 bytes of the header length.
    case truncated(fileSize: Int)
    /// The header length points past the end of the file.
    case headerBeyondFile(headerLength: UInt64, fileSize: Int)
    /// The header is not the JSON object the format requires.
    case invalidJSON(reason: String)
    /// A tensor entry lacks a field or has one of the wrong type.
    case invalidEntry(key: String, reason: String)
    /// A dtype the format does not define.
    case unknownDType(key: String, dtype: String)
    /// `shape` × dtype size differs from the entry's byte range.
    case sizeMismatch(
      key: String, shape: [Int], dtype: String, expectedBytes: Int, actualBytes: Int)
    /// Two entries share bytes.
    case overlappingOffsets(key: String, other: String)
    /// Bytes between two entries (or before the first) belong to no tensor.
    case gapInOffsets(key: String, expectedBegin: Int, begin: Int)
    /// An entry ends past the data section, or the data section has bytes no entry covers.
    case offsetsBeyondData(key: String, end: Int, dataSize: Int)
    /// The data section is longer than the entries cover.
    case trailingData(covered: Int, dataSize: Int)
    /// A key asked for is not in the file.
    case missingKey(key: String)
    /// A key's dtype cannot be converted to what was asked for.
    case unsupportedConversion(key: String, dtype: String, to: String)
    /// A tensor was added twice to a writer, or uses the reserved name.
    case duplicateKey(key: String)
    /// Values given to a writer do not fill the shape.
    case valueCountMismatch(key: String, shape: [Int], count: Int)
    /// The write failed (the final file is untouched).
    case writeFailed(reason: String)
  }

  /// The file read or written.
  public var path: String
  public var kind: Kind

  public init(path: String, _ kind: Kind) {
    self.path = path
    self.kind = kind
  }

  public var description: String {
    switch kind {
    case .missingFile:
      return "\(path): no such file"
    case .unreadable(let reason):
      return "\(path): cannot read the file: \(reason)"
    case .notSafeTensors(let kind):
      return "\(path): this is \(kind), not a safetensors file"
    case .truncated(let size):
      return "\(path): truncated safetensors file (\(size) bytes, the header length alone needs 8)"
    case .headerBeyondFile(let length, let size):
      return "\(path): header length \(length) goes past the end of the file (\(size) bytes)"
    case .invalidJSON(let reason):
      return "\(path): the safetensors header is not valid: \(reason)"
    case .invalidEntry(let key, let reason):
      return "\(path): tensor '\(key)': \(reason)"
    case .unknownDType(let key, let dtype):
      return "\(path): tensor '\(key)' has unknown dtype '\(dtype)'"
    case .sizeMismatch(let key, let shape, let dtype, let expected, let actual):
      return
        "\(path): tensor '\(key)' shape \(shape) of \(dtype) needs \(expected) bytes but its offsets span \(actual)"
    case .overlappingOffsets(let key, let other):
      return "\(path): tensor '\(key)' overlaps tensor '\(other)' in the data section"
    case .gapInOffsets(let key, let expected, let begin):
      return
        "\(path): tensor '\(key)' begins at byte \(begin) but the previous tensor ends at \(expected) (gap in the data section)"
    case .offsetsBeyondData(let key, let end, let size):
      return "\(path): tensor '\(key)' ends at byte \(end), past the data section (\(size) bytes)"
    case .trailingData(let covered, let size):
      return "\(path): the data section has \(size) bytes but the tensors cover only \(covered)"
    case .missingKey(let key):
      return "\(path): no tensor '\(key)'"
    case .unsupportedConversion(let key, let dtype, let to):
      return "\(path): tensor '\(key)' is \(dtype), which cannot be read as \(to)"
    case .duplicateKey(let key):
      return "\(path): tensor '\(key)' added twice (or uses the reserved name)"
    case .valueCountMismatch(let key, let shape, let count):
      return "\(path): tensor '\(key)' has \(count) values for shape \(shape)"
    case .writeFailed(let reason):
      return "\(path): write failed: \(reason)"
    }
  }
}
