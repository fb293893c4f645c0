import Foundation
import SafeTensors
import XCTest

@testable import TorchCheckpoint

/// Checkpoints written by torch.save (Tools/make_pth_fixtures.py) against the tensors PyTorch
/// holds, value by value; hostile, malformed and legacy files.
final class TorchCheckpointFileTests: XCTestCase {
  /// Every tensor of `name.pth` equals `name.expected.safetensors` exactly (values as Float32,
  /// or Int64 for I64), with the dtype recorded in the expected file's metadata.
  func assertMatchesExpected(_ name: String, file: StaticString = #filePath, line: UInt = #line)
    throws
  {
    let got = try TorchCheckpointFile.read(path: try fixture(name + ".pth"))
    let expected = try SafeTensorsFile.read(path: try fixture(name + ".expected.safetensors"))
    XCTAssertEqual(got.keys, expected.keys, "\(name): tensor names", file: file, line: line)
    XCTAssertTrue(got.metadata.isEmpty)
    for key in expected.keys {
      let e = try expected.entry(key)
      let g = try got.entry(key)
      XCTAssertEqual(g.name, key, file: file, line: line)
      XCTAssertEqual(g.shape, e.shape, "\(name): shape of \(key)", file: file, line: line)
      XCTAssertEqual(
        g.dtype.rawValue, expected.metadata["dtype." + key], "\(name): dtype of \(key)", file: file,
        line: line)
      XCTAssertEqual(
        g.data.count, g.count * g.dtype.size, "\(name): byte count of \(key)", file: file,
        line: line)
      if e.dtype == .i64 {
        XCTAssertEqual(
          try got.int64s(key).values, try expected.int64s(key).values, "\(name): \(key)",
          file: file, line: line)
      } else {
        let gv = try got.floats(key).values.map(\.bitPattern)
        let ev = try expected.floats(key).values.map(\.bitPattern)
        XCTAssertEqual(gv, ev, "\(name): values of \(key)", file: file, line: line)
      }
    }
  }

  func testOrderedDictStateDictWithInt64Buffer() throws {
    try assertMatchesExpected("ordered_f32")
    let sd = try TorchCheckpointFile.read(path: try fixture("ordered_f32.pth"))
    XCTAssertEqual(
      sd.keys,
      [
        "fc.bias", "fc.weight", "norm.bias", "norm.num_batches_tracked", "norm.running_mean",
        "norm.running_var", "norm.weight",
      ])
    XCTAssertEqual(try sd.entry("norm.num_batches_tracked").dtype, .i64)
    XCTAssertEqual(try sd.int64s("norm.num_batches_tracked").values, [7])
  }

  func testEveryDType() throws { try assertMatchesExpected("dtypes") }

  func testViewsTransposedSlicedExpandedSharedScalarEmpty() throws {
    try assertMatchesExpected("views")
    let graph = try TorchCheckpointFile.readObject(path: try fixture("views.pth"))
    guard let dict = graph.dict(graph.root), case .tensor(let a)? = dict["shared_a"],
      case .tensor(let b)? = dict["shared_b"], case .tensor(let t)? = dict["transposed"],
      case .tensor(let base)? = dict["base"]
    else {
      return XCTFail("views.pth: expected a dict of tensors, got \(graph.summary(graph.root))")
    }
    XCTAssertEqual(a.storage, b.storage, "the two views share one storage")
    XCTAssertEqual(b.offset, 4)
    XCTAssertEqual(t.stride, [1, 6])
    XCTAssertFalse(t.isContiguous)
    XCTAssertEqual(t.storage.key, base.storage.key)
    // Contiguous views of one storage are slices of one buffer: no copy per tensor.
    let sd = try TorchCheckpointFile.read(path: try fixture("views.pth"))
    let ea = try sd.entry("shared_a").data
    let eb = try sd.entry("shared_b").data
    ea.withUnsafeBytes { ra in
      eb.withUnsafeBytes { rb in
        XCTAssertEqual(
          ra.baseAddress.map { $0 + 16 }, rb.baseAddress,
          "shared_b starts 4 floats after shared_a in one buffer")
      }
    }
  }

  func testStateDictUnderStateDictBesideNamespace() throws {
    try assertMatchesExpected("wrapped_state_dict")
    let graph = try TorchCheckpointFile.readObject(path: try fixture("wrapped_state_dict.pth"))
    XCTAssertEqual(graph.dict(graph.root)?["args"], .opaque(module: "argparse", name: "Namespace"))
    XCTAssertEqual(graph.dict(graph.root)?["epoch"], .int(3))
  }

  func testStateDictUnderModel() throws { try assertMatchesExpected("wrapped_model") }

  func testParameters() throws { try assertMatchesExpected("parameters") }

  func testPickleProtocol4() throws { try assertMatchesExpected("protocol4") }

  /// `{name: _rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), 0, shape,
  /// stride, False, None)}` for each (name, key, numel, shape, stride).
  func statePickle(
    _ tensors: [(name: String, key: String, numel: UInt8, shape: [UInt64], stride: [UInt64])]
  )
    -> [UInt8]
  {
    func ints(_ v: [UInt64]) -> [UInt8] {
      [0x28] + v.flatMap { [0x8A, 8] + StoredZipWriter.le($0, 8) } + [0x74]
    }
    var s: [UInt8] = [0x80, 0x02, 0x7D, 0x28]
    for t in tensors {
      s += binunicode(t.name) + [0x63] + Array("torch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28]
      s += [0x28] + binunicode("storage") + [0x63] + Array("torch\nFloatStorage\n".utf8)
      s += binunicode(t.key) + binunicode("cpu") + [0x4B, t.numel, 0x74, 0x51]
      s += [0x4B, 0] + ints(t.shape) + ints(t.stride) + [0x89, 0x4E, 0x74, 0x52]
    }
    return s + [0x75, 0x2E]
  }

  func testExpandedViewAskingForHugeCopyIsRefused() throws {
    // One float viewed as 2^14 × 2^14 with strides 0: 1 GiB from 4 bytes.
    let pkl = statePickle([("w", "0", 1, [1 << 14, 1 << 14], [0, 0])])
    let path = scratchPath("expanded.pth")
    try writeFile(
      path, StoredZipWriter.archive([("a/data.pkl", pkl), ("a/data/0", [0, 0, 128, 63])]))
    defer { try? FileManager.default.removeItem(atPath: path) }
    guard
      case .badTensor(let name, _)? = torchError({ try TorchCheckpointFile.read(path: path) })?.kind
    else { return XCTFail("expected badTensor") }
    XCTAssertEqual(name, "w")
    // A small expansion is copied.
    let small = statePickle([("w", "0", 1, [2, 3], [0, 0])])
    try writeFile(
      path, StoredZipWriter.archive([("a/data.pkl", small), ("a/data/0", [0, 0, 128, 63])]))
    XCTAssertEqual(try TorchCheckpointFile.read(path: path).floats("w").values, [1, 1, 1, 1, 1, 1])
  }

  func testEntriesAliasingOneAnothersDataAreRefused() throws {
    // Twenty directory records point at one 1000-byte storage: 20 000 bytes claimed.
    let tensors = (0..<20).map { ("w\($0)", "\($0)", UInt8(250), [UInt64(250)], [UInt64(1)]) }
    let path = scratchPath("aliases.pth")
    let bytes = StoredZipWriter.archive(
      [("a/data.pkl", statePickle(tensors)), ("a/data/0", [UInt8](repeating: 1, count: 1000))],
      aliases: (1..<20).map { ("a/data/\($0)", 1) })
    try writeFile(path, bytes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    guard
      case .invalidZip(let reason)? = torchError({ try TorchCheckpointFile.read(path: path) })?.kind
    else { return XCTFail("expected invalidZip") }
    XCTAssertTrue(reason.contains("entries overlap"), reason)
    // Two records for one 100-byte storage claim 200 bytes, which the file holds: each reads
    // the same bytes (duplicate names are PyTorch's to avoid, not a memory risk).
    let small = (0..<2).map { ("w\($0)", "\($0)", UInt8(25), [UInt64(25)], [UInt64(1)]) }
    let two = StoredZipWriter.archive(
      [("a/data.pkl", statePickle(small)), ("a/data/0", [UInt8](repeating: 1, count: 100))],
      aliases: [("a/data/1", 1)])
    try writeFile(path, two)
    XCTAssertEqual(try TorchCheckpointFile.read(path: path).keys, ["w0", "w1"])
  }

  func testStoragesReadOnTwoThreadsEqualOneByOne() throws {
    let checkpoint = try Checkpoint(path: try fixture("dtypes.pth"))
    let graph = try checkpoint.unpickle()
    let storages = try XCTUnwrap(graph.dict(graph.root)).entries.compactMap {
      entry -> TorchStorage? in
      if case .tensor(let t) = entry.value { return t.storage }
      return nil
    }
    XCTAssertEqual(storages.count, 10)
    let parallel = try checkpoint.readStorages(storages, parallelFrom: 0)
    let serial = try checkpoint.readStorages(storages, parallelFrom: .max)
    XCTAssertEqual(parallel, serial)
    // An error on one thread is reported (the first failing storage in order).
    var broken = storages
    broken[3].key = "missing"
    XCTAssertEqual(
      torchError({ try checkpoint.readStorages(broken, parallelFrom: 0) })?.kind,
      .missingEntry(name: "dtypes/data/missing"))
  }

  /// A payload beside the tensors stays an inert placeholder; the tensors load; the command
  /// the payload would run never runs.
  func testHostilePayloadsAreInert() throws {
    let cases: [(file: String, marker: String, module: String, name: String)] = [
      ("hostile_os_system", "os_system", "posix", "system"),
      // Protocol 2 writes Python 2 module names (pickle's fix_imports); placeholders keep
      // the names the stream spells.
      ("hostile_eval", "eval", "__builtin__", "eval"),
      ("hostile_popen", "popen", "commands", "Popen"),
    ]
    for c in cases {
      let marker = "/tmp/vcoswin-pwned-" + c.marker
      try? FileManager.default.removeItem(atPath: marker)
      try assertMatchesExpected(c.file)
      let sd = try TorchCheckpointFile.read(path: try fixture(c.file + ".pth"))
      XCTAssertEqual(sd.keys, ["weight"], "\(c.file): only the tensor is returned")
      XCTAssertEqual(try sd.floats("weight").values, [0, 1, 2, 3])
      let graph = try TorchCheckpointFile.readObject(path: try fixture(c.file + ".pth"))
      XCTAssertEqual(
        graph.dict(graph.root)?["payload"], .opaque(module: c.module, name: c.name), c.file)
      XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(c.file): the payload ran")
    }
  }

  func testHostileRootIsRefusedWithWhatWasFound() throws {
    let path = try fixture("hostile_root.pth")
    guard let e = torchError({ try TorchCheckpointFile.read(path: path) }) else { return }
    XCTAssertEqual(e.kind, .noStateDict(found: "an object of posix.system (not loaded)"))
    XCTAssertTrue(e.description.hasPrefix(path + ": no state dict"), e.description)
    XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/vcoswin-pwned-root"))
  }

  func testRebuildTensorWithWrongArgumentsNamesTheGlobal() throws {
    let path = try fixture("wrong_args.pth")
    guard let e = torchError({ try TorchCheckpointFile.read(path: path) }) else { return }
    guard case .badArguments(let global, _, _) = e.kind else { return XCTFail("\(e)") }
    XCTAssertEqual(global, "torch._utils._rebuild_tensor_v2")
    XCTAssertTrue(e.description.hasPrefix(path + ": "), e.description)
    XCTAssertTrue(e.description.contains("expects 6 or 7 arguments, got 3"), e.description)
  }

  func testLegacyFormatSaysHowToResave() throws {
    let path = try fixture("legacy.pth")
    XCTAssertFalse(TorchCheckpointFile.looksLikeTorchZip(path: path))
    guard let e = torchError({ try TorchCheckpointFile.read(path: path) }) else { return }
    XCTAssertEqual(e.kind, .legacyFormat)
    XCTAssertTrue(e.description.hasPrefix(path + ": "))
    XCTAssertTrue(e.description.contains("torch.save(torch.load(f), f2)"), e.description)
    XCTAssertFalse(e.description.contains("\n"))
  }

  func testRouting() throws {
    XCTAssertTrue(TorchCheckpointFile.looksLikeTorchZip(path: try fixture("views.pth")))
    XCTAssertFalse(
      TorchCheckpointFile.looksLikeTorchZip(path: try fixture("views.expected.safetensors")))
    XCTAssertFalse(TorchCheckpointFile.looksLikeTorchZip(path: "/nonexistent/x.pth"))
    let e = torchError { try TorchCheckpointFile.read(path: "/nonexistent/x.pth") }
    XCTAssertEqual(e?.description, "/nonexistent/x.pth: no such file")
    let safetensors = try fixture("views.expected.safetensors")
    XCTAssertEqual(torchError({ try TorchCheckpointFile.read(path: safetensors) })?.kind, .notZip)
  }

  func testCompressedEntryIsNamed() throws {
    // A deflated entry (method 8): the central directory's and local header's method field.
    var bytes = StoredZipWriter.archive([("a/data.pkl", [0x80, 0x02, 0x7D, 0x2E])])
    bytes[8] = 8
    if let cd = (0..<(bytes.count - 4)).first(where: {
      bytes[$0] == 0x50 && bytes[$0 + 1] == 0x4B && bytes[$0 + 2] == 1
    }) {
      bytes[cd + 10] = 8
    }
    let path = scratchPath("deflated.pth")
    try writeFile(path, bytes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertEqual(
      torchError({ try TorchCheckpointFile.read(path: path) })?.kind,
      .compressedEntry(name: "a/data.pkl", method: 8))
  }

  func testZip64AndLocalExtraFields() throws {
    // The same entries rewritten with zip64 records and padded local headers read the same.
    let entries = try archiveEntries(try fixture("views.pth"))
    let path = scratchPath("zip64.pth")
    try writeFile(path, StoredZipWriter.archive(entries, zip64: true, padding: 37))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let a = try TorchCheckpointFile.read(path: path)
    let b = try TorchCheckpointFile.read(path: try fixture("views.pth"))
    XCTAssertEqual(a.keys, b.keys)
    for k in a.keys { XCTAssertEqual(try a.entry(k).data, try b.entry(k).data, k) }
  }

  func testBigEndianAndMissingStorageAreErrors() throws {
    var entries = try archiveEntries(try fixture("views.pth"))
    let path = scratchPath("edited.pth")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let order = try XCTUnwrap(entries.firstIndex { $0.name.hasSuffix("/byteorder") })
    entries[order].data = Array("big".utf8)
    try writeFile(path, StoredZipWriter.archive(entries))
    XCTAssertEqual(
      torchError({ try TorchCheckpointFile.read(path: path) })?.kind, .unsupportedByteOrder("big"))

    entries = try archiveEntries(try fixture("views.pth")).filter { !$0.name.hasSuffix("/data/0") }
    try writeFile(path, StoredZipWriter.archive(entries))
    XCTAssertEqual(
      torchError({ try TorchCheckpointFile.read(path: path) })?.kind,
      .missingEntry(name: "views/data/0"))
  }

  func testTruncatedStorageIsAnError() throws {
    var entries = try archiveEntries(try fixture("views.pth"))
    let i = try XCTUnwrap(entries.firstIndex { $0.name.hasSuffix("/data/0") })
    entries[i].data.removeLast(4)
    let path = scratchPath("short-storage.pth")
    try writeFile(path, StoredZipWriter.archive(entries))
    defer { try? FileManager.default.removeItem(atPath: path) }
    guard
      case .badStorage(let key, _)? = torchError({ try TorchCheckpointFile.read(path: path) })?.kind
    else {
      return XCTFail("expected badStorage")
    }
    XCTAssertEqual(key, "0")
  }

  func testFileShorterThanItsDirectorySaysItChanged() throws {
    // The central directory promises data the file no longer has: reading the storage hits
    // the end of the file (as when a file is truncated while it is read).
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try fixture("views.pth"))))
    let archive = try ZipArchive(path: try fixture("views.pth"))
    let path = scratchPath("shrinking.pth")
    try writeFile(path, bytes)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let opened = try ZipArchive(path: path)
    let entry = try XCTUnwrap(archive.entry(named: "views/data/0"))
    let range = try opened.dataRange(of: entry)
    truncate(path, off_t(range.lowerBound + 8))
    guard
      case .changedWhileReading(_, let expected, let got)? = torchError({
        try opened.readBytes(entry)
      })?
      .kind
    else {
      return XCTFail("expected changedWhileReading")
    }
    XCTAssertEqual(expected, range.count)
    XCTAssertEqual(got, 8)
  }
}
