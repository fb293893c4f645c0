/// Everything that can go wrong reading a PyTorch `.pth` checkpoint.
///
/// Every error names the file first; `description` is one sentence a person can act on
/// (commands print it after `error:`). Offsets are byte offsets: into the file for the zip
/// layer, into `data.pkl` for the unpickler.
public struct TorchCheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
  /// What went wrong.
  public enum Kind: Equatable, Sendable {
    /// No file at the path.
    case missingFile
    /// The file exists but could not be opened or read (permissions, a folder, an I/O error).
    case unreadable(reason: String)
    /// A pre-1.6 `torch.save` file (a bare pickle stream, not a zip).
    case legacyFormat
    /// Neither a zip archive nor the legacy format.
    case notZip
    /// A read returned fewer bytes than the file size promised.
    case changedWhileReading(offset: Int, expected: Int, got: Int)
    /// The zip structure is inconsistent (bad signature, an offset or length out of bounds).
    case invalidZip(reason: String)
    /// An entry is compressed or encrypted; PyTorch writes every entry stored (method 0).
    case compressedEntry(name: String, method: Int)
    /// The archive lacks an entry the format requires.
    case missingEntry(name: String)
    /// `<stem>/byteorder` says something other than `little`.
    case unsupportedByteOrder(String)
    /// `data.pkl` is malformed at `offset`.
    case invalidPickle(offset: Int, reason: String)
    /// An opcode outside the restricted set (or one no pickle protocol defines).
    case unsupportedOpcode(opcode: UInt8, offset: Int)
    /// A bound of the unpickler (stack, marks, memo, operations, sizes) was reached.
    case limitExceeded(what: String, limit: Int, offset: Int)
    /// An allow-listed global was called with arguments it does not take.
    case badArguments(global: String, reason: String, offset: Int)
    /// A persistent id that is not `('storage', <storage type>, key, location, numel)`.
    case badPersistentID(reason: String, offset: Int)
    /// A storage whose bytes do not match what the pickle declares.
    case badStorage(key: String, reason: String)
    /// A tensor whose size, stride and offset reach outside its storage.
    case badTensor(name: String, reason: String)
    /// No dict of tensors where a state dict is expected; `found` describes the top level.
    case noStateDict(found: String)
  }

  /// The checkpoint read.
  public var path: String
  /// What went wrong.
  public var kind: Kind

  /// An error about the file at `path`.
  public init(path: String, _ kind: Kind) {
    self.path = path
    self.kind = kind
  }

  /// One sentence starting with the path.
  public var description: String {
    switch kind {
    case .missingFile:
      return "\(path): no such file"
    case .unreadable(let reason):
      return "\(path): cannot read the file: \(reason)"
    case .legacyFormat:
      return
        "\(path): a legacy (before PyTorch 1.6) torch.save file, which is not read here; re-save it with a recent PyTorch: torch.save(torch.load(f), f2) (the zip format, _use_new_zipfile_serialization=True)"
    case .notZip:
      return
        "\(path): not a PyTorch checkpoint (no zip archive: no end-of-central-directory record)"
    case .changedWhileReading(let offset, let expected, let got):
      return
        "\(path): the file changed or is truncated while reading (\(got) of \(expected) bytes at offset \(offset))"
    case .invalidZip(let reason):
      return "\(path): invalid zip archive: \(reason)"
    case .compressedEntry(let name, let method):
      return
        "\(path): archive entry '\(name)' is compressed or encrypted (method \(method)); PyTorch checkpoints store entries uncompressed"
    case .missingEntry(let name):
      return "\(path): the archive has no entry '\(name)'"
    case .unsupportedByteOrder(let order):
      return "\(path): byte order '\(order)' is not supported (only little-endian checkpoints are)"
    case .invalidPickle(let offset, let reason):
      return "\(path): data.pkl offset \(offset): \(reason)"
    case .unsupportedOpcode(let opcode, let offset):
      let hex = String(opcode, radix: 16, uppercase: false)
      let pad = hex.count < 2 ? "0" + hex : hex
      return "\(path): data.pkl offset \(offset): pickle opcode 0x\(pad) is not supported"
    case .limitExceeded(let what, let limit, let offset):
      return "\(path): data.pkl offset \(offset): \(what) exceeds the limit of \(limit)"
    case .badArguments(let global, let reason, let offset):
      return "\(path): data.pkl offset \(offset): \(global) called with wrong arguments: \(reason)"
    case .badPersistentID(let reason, let offset):
      return "\(path): data.pkl offset \(offset): unsupported persistent id: \(reason)"
    case .badStorage(let key, let reason):
      return "\(path): storage '\(key)': \(reason)"
    case .badTensor(let name, let reason):
      return "\(path): tensor '\(name)': \(reason)"
    case .noStateDict(let found):
      return
        "\(path): no state dict (a dict of tensors at the top level or under state_dict, model, module, model_state or net); found \(found)"
    }
  }
}
