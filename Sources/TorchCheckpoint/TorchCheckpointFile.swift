// TorchCheckpointFile: a PyTorch `.pth` / `.pt` checkpoint (the zip format of torch.save since
// PyTorch 1.6) read into a `SafeTensorsFile`, without running any of the pickle's code.
//
// Archive layout (stem = the archive's top folder, e.g. `archive`):
//   <stem>/data.pkl     the pickled object; tensors are torch._utils._rebuild_tensor_v2(
//                       persistent_id, storage_offset, size, stride, requires_grad, hooks[, meta])
//                       with persistent_id = ('storage', torch.FloatStorage, '<key>', 'cpu', numel)
//   <stem>/data/<key>   each storage's bytes (little-endian, numel × element size)
//   <stem>/byteorder    "little" (absent in files from before PyTorch 1.10: little-endian)
//   <stem>/version      the format version (informative)
import Foundation
import SafeTensors

/// Reads PyTorch checkpoints: the state dict's tensors as a `SafeTensorsFile`.
public enum TorchCheckpointFile {
  /// Keys under which a wrapper dict holds the state dict, tried in this order.
  public static let stateDictKeys = ["state_dict", "model", "module", "model_state", "net"]

  /// Bytes that copies of non-contiguous views may take beyond the storages' own.
  static let copyAllowance = 64 << 20

  /// `data.pkl` larger than this is refused (real ones are kilobytes to a few megabytes).
  public static let maxPickleBytes = 256 << 20

  /// True when the file starts with a zip local header (`PK\3\4`), as every checkpoint written
  /// by `torch.save` since PyTorch 1.6 does. Cheap: reads 4 bytes. False for anything unreadable.
  public static func looksLikeTorchZip(path: String) -> Bool {
    guard let file = try? PositionalFile(path: path), file.size >= 4,
      let magic = try? file.readBytes(offset: 0, count: 4)
    else { return false }
    return magic == [0x50, 0x4B, 0x03, 0x04]
  }

  /// True when the file is `torch.save` output of either format: a zip archive
  /// (`looksLikeTorchZip`) or the legacy pre-1.6 pickle, which `read` refuses with a note on
  /// re-saving. Lets callers route a file to this reader. Cheap: reads at most 14 bytes.
  public static func isTorchSaveFile(path: String) -> Bool {
    if looksLikeTorchZip(path: path) { return true }
    guard let file = try? PositionalFile(path: path), file.size >= Checkpoint.legacyMagic.count,
      let head = try? file.readBytes(offset: 0, count: Checkpoint.legacyMagic.count)
    else { return false }
    return head == Checkpoint.legacyMagic
  }

  /// The state dict of the checkpoint at `path`: every tensor under its state-dict name (no
  /// renaming; a `module.` prefix is kept), contiguous and little-endian in its own dtype.
  ///
  /// The state dict is the top-level object when it is a dict holding tensors, else the first
  /// of `stateDictKeys` whose value is one (searched up to three levels deep). Values that are
  /// not tensors (`_metadata`, numbers, placeholders of unknown classes) are ignored. Throws
  /// `TorchCheckpointError`.
  public static func read(path: String) throws -> SafeTensorsFile {
    let checkpoint = try Checkpoint(path: path)
    let graph = try checkpoint.unpickle()
    guard let stateDict = findStateDict(graph, graph.root, depth: 0) else {
      throw TorchCheckpointError(path: path, .noStateDict(found: graph.summary(graph.root)))
    }
    // The storages the state dict's tensors view, each once, in order of first use.
    var named: [(name: String, tensor: TorchTensor)] = []
    var storageIndex: [String: Int] = [:]
    var storages: [TorchStorage] = []
    for (key, value) in stateDict.entries {
      guard case .string(let name) = key, case .tensor(let t) = value else { continue }
      named.append((name, t))
      if let i = storageIndex[t.storage.key] {
        let first = storages[i]
        guard first.dtype == t.storage.dtype, first.count == t.storage.count else {
          throw TorchCheckpointError(
            path: path,
            .badStorage(
              key: t.storage.key,
              reason:
                "viewed as \(first.count) \(first.dtype.rawValue) and as \(t.storage.count) \(t.storage.dtype.rawValue)"
            ))
        }
      } else {
        storageIndex[t.storage.key] = storages.count
        storages.append(t.storage)
      }
    }
    let bytes = try checkpoint.readStorages(storages)
    // Views that are not contiguous are copied; a view repeating elements (stride 0) can ask
    // for far more than its storage, so copies may total at most the storages plus 64 MiB.
    var copyBudget = bytes.reduce(copyAllowance) { $0 + $1.count }
    var tensors: [String: TensorEntry] = [:]
    for (name, t) in named {
      guard let i = storageIndex[t.storage.key] else { continue }
      if TensorBounds.check(t) == nil, !t.isContiguous {
        copyBudget -= t.count * t.dtype.size
        guard copyBudget >= 0 else {
          throw TorchCheckpointError(
            path: path,
            .badTensor(
              name: name,
              reason:
                "its strided copy (\(t.count) elements) would take more memory than the file's storages plus 64 MiB"
            ))
        }
      }
      tensors[name] = try materialise(t, name: name, storage: bytes[i], path: path)
    }
    return SafeTensorsFile(path: path, metadata: [:], tensors: tensors)
  }

  /// The unpickled object of the checkpoint at `path` (tensors as strided views of storages,
  /// unknown globals as `.opaque` placeholders); no storage bytes are read.
  public static func readObject(path: String) throws -> PickleGraph {
    try Checkpoint(path: path).unpickle()
  }

  /// The state dict in `value`: a dict with at least one string key holding a tensor, else the
  /// first such dict under `stateDictKeys` (to depth 3).
  static func findStateDict(_ graph: PickleGraph, _ value: Pickle, depth: Int) -> PickleDict? {
    guard depth <= 3, let dict = graph.dict(value) else { return nil }
    let holdsTensors = dict.entries.contains {
      if case .string = $0.key, case .tensor = $0.value { return true }
      return false
    }
    if holdsTensors { return dict }
    for key in stateDictKeys {
      if let inner = dict[key], let found = findStateDict(graph, inner, depth: depth + 1) {
        return found
      }
    }
    return nil
  }

  /// A tensor as a contiguous `TensorEntry`: a slice of the storage's bytes when the view is
  /// contiguous (no copy), else a strided copy.
  static func materialise(_ t: TorchTensor, name: String, storage: Data, path: String) throws
    -> TensorEntry
  {
    if let reason = TensorBounds.check(t) {
      throw TorchCheckpointError(path: path, .badTensor(name: name, reason: reason))
    }
    let size = t.dtype.size
    let (declared, overflow) = t.storage.count.multipliedReportingOverflow(by: size)
    guard !overflow, storage.count >= declared else {
      throw TorchCheckpointError(
        path: path,
        .badTensor(
          name: name, reason: "its storage holds \(storage.count) bytes, fewer than declared"))
    }
    let count = t.count
    if count == 0 {
      return TensorEntry(name: name, dtype: t.dtype, shape: t.shape, data: Data())
    }
    if t.isContiguous {
      let begin = storage.startIndex + t.offset * size
      return TensorEntry(
        name: name, dtype: t.dtype, shape: t.shape, data: storage[begin..<(begin + count * size)])
    }
    return TensorEntry(
      name: name, dtype: t.dtype, shape: t.shape, data: stridedCopy(t, storage: storage))
  }

  /// Gathers a strided view into row-major order. The caller has checked the bounds.
  static func stridedCopy(_ t: TorchTensor, storage: Data) -> Data {
    let size = t.dtype.size
    let dims = t.shape.count
    // Copy runs along the last dimension when it is unit-stride.
    let run = dims > 0 && t.stride[dims - 1] == 1 ? t.shape[dims - 1] : 1
    let outer = dims > 0 && run > 1 ? dims - 1 : dims
    var out = Data(count: t.count * size)
    out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
      storage.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
        guard let d = dst.baseAddress, let s = src.baseAddress else { return }
        var index = [Int](repeating: 0, count: outer)
        var source = t.offset
        let runBytes = run * size
        var written = 0
        let total = t.count * size
        while written < total {
          (d + written).copyMemory(from: s + source * size, byteCount: runBytes)
          written += runBytes
          var k = outer - 1
          // Odometer step; `source` only ever takes in-bounds values (checked by the caller).
          while k >= 0 {
            index[k] += 1
            if index[k] < t.shape[k] {
              source += t.stride[k]
              break
            }
            source -= t.stride[k] * (t.shape[k] - 1)
            index[k] = 0
            k -= 1
          }
        }
      }
    }
    return out
  }
}

/// An opened checkpoint archive: its stem and the entries PyTorch writes.
struct Checkpoint {
  let path: String
  let archive: ZipArchive
  let stem: String

  /// The pickle protocol 2 header and LONG1 of the legacy magic number 0x1950a86a20f9469cfc6c.
  static let legacyMagic: [UInt8] = [
    0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19,
  ]

  init(path: String) throws {
    self.path = path
    let archive: ZipArchive
    do {
      archive = try ZipArchive(path: path)
    } catch let e as TorchCheckpointError where e.kind == .notZip {
      let file = try PositionalFile(path: path)
      let n = min(file.size, Checkpoint.legacyMagic.count)
      if try file.readBytes(offset: 0, count: n) == Checkpoint.legacyMagic {
        throw TorchCheckpointError(path: path, .legacyFormat)
      }
      throw e
    }
    self.archive = archive
    // The pickle is `<stem>/data.pkl` (a top-level folder whose name varies with the writer).
    guard
      let pickle = archive.entries.first(where: {
        $0.name.hasSuffix("/data.pkl") && $0.name.dropLast(9).firstIndex(of: "/") == nil
      })
    else {
      throw TorchCheckpointError(path: path, .missingEntry(name: "<stem>/data.pkl"))
    }
    stem = String(pickle.name.dropLast(9))
    if let order = archive.entry(named: stem + "/byteorder") {
      guard order.uncompressedSize <= 16 else {
        throw TorchCheckpointError(
          path: path, .unsupportedByteOrder("(\(order.uncompressedSize) bytes)"))
      }
      let text = String(decoding: try archive.readBytes(order), as: UTF8.self)
      guard text == "little" else {
        throw TorchCheckpointError(path: path, .unsupportedByteOrder(text))
      }
    }
  }

  /// Unpickles `<stem>/data.pkl` (its CRC-32 checked).
  func unpickle() throws -> PickleGraph {
    let name = stem + "/data.pkl"
    guard let entry = archive.entry(named: name) else {
      throw TorchCheckpointError(path: path, .missingEntry(name: name))
    }
    guard entry.uncompressedSize <= TorchCheckpointFile.maxPickleBytes else {
      throw TorchCheckpointError(
        path: path,
        .limitExceeded(
          what: "the size of \(name) (\(entry.uncompressedSize) bytes)",
          limit: TorchCheckpointFile.maxPickleBytes, offset: 0))
    }
    let bytes = try archive.readBytes(entry, verifyCRC: true)
    return try Unpickler(path: path).unpickle(bytes)
  }

  /// The bytes of every storage, in order. From `parallelFrom` bytes in all, two threads read
  /// (each storage still in one `pread`): filling fresh pages, which the kernel must zero
  /// first, dominates the time and spreads over two cores (a quarter less time measured on a
  /// loaded 2-core machine, Docs/BENCHMARKS.md).
  func readStorages(_ storages: [TorchStorage], parallelFrom: Int = 16 << 20) throws -> [Data] {
    let sizes = storages.map { $0.count.multipliedReportingOverflow(by: $0.dtype.size) }
    let total = sizes.reduce(0) { $0 &+ ($1.overflow ? Int.max / 2 : $1.partialValue) }
    // Distinct entries cannot overlap, so more bytes than the file holds means entries that
    // alias one another's data (a way to make a small file claim unbounded memory).
    guard total <= archive.fileSize else {
      throw TorchCheckpointError(
        path: path,
        .invalidZip(
          reason:
            "the storages claim \(total) bytes in all, more than the file's \(archive.fileSize) (entries overlap)"
        ))
    }
    let workers = min(2, ProcessInfo.processInfo.activeProcessorCount)
    if workers < 2 || total < parallelFrom || storages.count < 2 {
      return try storages.map { try storageBytes($0) }
    }
    // Largest first, each to the worker with fewer bytes so far.
    var assigned: [[Int]] = Array(repeating: [], count: workers)
    var load = [Int](repeating: 0, count: workers)
    for i in storages.indices.sorted(by: { sizes[$0].partialValue > sizes[$1].partialValue }) {
      let w = load[0] <= load[1] ? 0 : 1
      assigned[w].append(i)
      load[w] = load[w] &+ sizes[i].partialValue
    }
    var results = [Result<Data, Error>?](repeating: nil, count: storages.count)
    let plan = assigned
    results.withUnsafeMutableBufferPointer { slots in
      // Each index is written by exactly one worker; the checkpoint is only read.
      nonisolated(unsafe) let out = slots
      nonisolated(unsafe) let reader = self
      DispatchQueue.concurrentPerform(iterations: workers) { w in
        for i in plan[w] { out[i] = Result { try reader.storageBytes(storages[i]) } }
      }
    }
    return try results.map { r in
      guard let r else {
        throw TorchCheckpointError(
          path: path, .unreadable(reason: "internal: a storage was not read"))
      }
      return try r.get()
    }
  }

  /// The bytes of a storage, `count × element size` bytes of `<stem>/data/<key>` in one read.
  func storageBytes(_ storage: TorchStorage) throws -> Data {
    let name = stem + "/data/" + storage.key
    guard let entry = archive.entry(named: name) else {
      throw TorchCheckpointError(path: path, .missingEntry(name: name))
    }
    let (bytes, overflow) = storage.count.multipliedReportingOverflow(by: storage.dtype.size)
    guard !overflow, bytes <= entry.uncompressedSize else {
      throw TorchCheckpointError(
        path: path,
        .badStorage(
          key: storage.key,
          reason:
            "declared as \(storage.count) \(storage.dtype.rawValue) but its entry holds \(entry.uncompressedSize) bytes"
        ))
    }
    return try archive.read(entry, offset: 0, count: bytes)
  }
}
