import Foundation
import SafeTensors
import XCTest

@testable import TorchCheckpoint

/// The restricted unpickler on hand-written streams.
final class UnpicklerTests: XCTestCase {
  let proto: [UInt8] = [0x80, 0x02]

  func global(_ module: String, _ name: String) -> [UInt8] {
    [0x63] + Array("\(module)\n\(name)\n".utf8)
  }

  /// `('storage', torch.FloatStorage, '0', 'cpu', numel)` then BINPERSID.
  func storage(numel: UInt8, type: String = "FloatStorage") -> [UInt8] {
    [0x28] + binunicode("storage") + global("torch", type) + binunicode("0") + binunicode("cpu") + [
      0x4B, numel, 0x74, 0x51,
    ]
  }

  func testUnsupportedOpcodeNamesByteAndOffset() {
    let e = torchError { try unpickle(proto + [0x4E, 0x96, 0, 0, 0, 0, 0, 0, 0, 0]) }
    XCTAssertEqual(e?.kind, .unsupportedOpcode(opcode: 0x96, offset: 3))
    XCTAssertEqual(
      e?.description, "test.pkl: data.pkl offset 3: pickle opcode 0x96 is not supported")
    XCTAssertEqual(
      torchError { try unpickle([0x80, 0x06]) }?.kind,
      .invalidPickle(offset: 0, reason: "pickle protocol 6 is not supported (2 to 5 are)"))
  }

  func testScalarsStringsAndContainers() throws {
    var s = proto + [0x28]  // MARK
    s += [0x4B, 200, 0x4D, 0x34, 0x12, 0x4A, 0xFF, 0xFF, 0xFF, 0xFF]  // 200, 0x1234, -1
    s += [0x8A, 2, 0x00, 0x80]  // LONG1 -32768
    s += [0x8A, 9] + [UInt8](repeating: 0xFF, count: 8) + [0x00]  // 2^64 - 1: big
    s += [0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0]  // 1.5
    s += [0x88, 0x89, 0x4E] + binunicode("é") + [0x8C, 1, 0x61, 0x43, 2, 1, 2]
    s += [0x55, 1, 0x62] + Array("I42\n".utf8) + [0x8F, 0x28, 0x4B, 1, 0x90]  // set {1}
    s += [0x6C, 0x2E]  // LIST, STOP
    let g = try unpickle(s)
    XCTAssertEqual(
      g.items(g.root),
      [
        .int(200), .int(0x1234), .int(-1), .int(-32768),
        .bigInt([UInt8](repeating: 0xFF, count: 8) + [0]), .float(1.5),
        .bool(true), .bool(false), .none, .string("é"), .string("a"), .bytes([1, 2]), .string("b"),
        .int(42), .set(0),
      ])
    XCTAssertEqual(g.sets[0], [.int(1)])
  }

  func testMemoCyclesDoNotRecurse() throws {
    // l = []; l.append(l); d = {'model': d, 'l': l}
    var s = proto + [0x7D, 0x71, 0] + binunicode("model") + [0x68, 0]
    s += [0x73] + binunicode("l") + [0x5D, 0x71, 1, 0x68, 1, 0x61, 0x73, 0x2E]
    let g = try unpickle(s)
    XCTAssertEqual(g.dict(g.root)?["model"], g.root)
    XCTAssertEqual(g.lists[0], [.list(0)])
    XCTAssertNil(TorchCheckpointFile.findStateDict(g, g.root, depth: 0))
    XCTAssertEqual(g.summary(g.root), "a dict with keys [model, l]")
  }

  func testStateDictFoundUnderNestedWrappers() throws {
    // {'meta': {...}, 'model': {'module': {'w': tensor, 'n': 3}}}: the inner dict is found.
    let rebuild = global("torch._utils", "_rebuild_tensor_v2")
    let tensor =
      rebuild + [0x28] + storage(numel: 2)
      + [0x4B, 0, 0x4B, 2, 0x85, 0x4B, 1, 0x85, 0x89, 0x4E, 0x74, 0x52]
    var s = proto + [0x7D] + binunicode("meta") + [0x7D, 0x73]
    s += binunicode("model") + [0x7D] + binunicode("module") + [0x7D]
    s += binunicode("w") + tensor + [0x73] + binunicode("n") + [0x4B, 3, 0x73]
    s += [0x73, 0x73, 0x2E]
    let g = try unpickle(s)
    let found = try XCTUnwrap(TorchCheckpointFile.findStateDict(g, g.root, depth: 0))
    XCTAssertEqual(found.entries.count, 2)
    guard case .tensor(let t)? = found["w"] else { return XCTFail("no tensor 'w'") }
    XCTAssertEqual(t.shape, [2])
    XCTAssertEqual(found["n"], .int(3))
  }

  func testDeepNestingIsFlat() throws {
    // A million nested 1-tuples: built, compared and freed without recursion.
    let s = proto + [0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
    let g = try unpickle(s)
    XCTAssertEqual(g.root, .tuple(999_999))
    XCTAssertEqual(g.tuples[999_999], [.tuple(999_998)])
  }

  func testLimits() {
    let marks = proto + [UInt8](repeating: 0x28, count: 20_000)
    guard case .limitExceeded(let what, let limit, _)? = torchError({ try unpickle(marks) })?.kind
    else { return XCTFail() }
    XCTAssertEqual(what, "the MARK depth")
    XCTAssertEqual(limit, 10_000)
    var limits = UnpicklerLimits()
    limits.maxStackDepth = 100
    let pushes = proto + [UInt8](repeating: 0x4E, count: 101)
    XCTAssertNotNil(torchError { try Unpickler(path: "p", limits: limits).unpickle(pushes) })
    limits.maxOperations = 10
    XCTAssertNotNil(
      torchError {
        try Unpickler(path: "p", limits: limits).unpickle(
          proto + [UInt8](repeating: 0x4E, count: 20))
      })
    // Lengths larger than the stream, negative lengths, memo indices never stored.
    for bad: [UInt8] in [
      [0x58, 0xFF, 0xFF, 0xFF, 0x7F], [0x8D] + [UInt8](repeating: 0xFF, count: 8),
      [0x54, 0xFF, 0xFF, 0xFF, 0xFF],
      [0x8B, 0xFF, 0xFF, 0xFF, 0x7F], [0x6A, 0xFF, 0xFF, 0xFF, 0xFF], [0x42, 0, 0, 0, 1],
      [0x63, 0x6F, 0x73], [0x47, 1],
      [0x73], [0x74], [0x2E], [],
    ] {
      XCTAssertNotNil(torchError { try unpickle(proto + bad) }, "\(bad)")
    }
    // A huge memo index stores nothing large.
    XCTAssertEqual(
      try unpickle(
        proto + [0x4E, 0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x6A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]
      ).root, .none)
  }

  func testUnknownGlobalsAreInertWhateverIsDoneToThem() throws {
    // os.system('x') via REDUCE, subprocess.Popen via NEWOBJ, BUILD, SETITEM and APPEND on them.
    var s = proto + [0x28]
    s +=
      binunicode("os") + binunicode("system") + [0x93]
      + binunicode("touch /tmp/vcoswin-pwned-unpickler") + [0x85, 0x52]
    s += global("subprocess", "Popen") + [0x29, 0x81, 0x7D, 0x62]
    s += global("builtins", "eval") + binunicode("k") + binunicode("v") + [0x73, 0x4E, 0x61]
    s += global("numpy.core.multiarray", "scalar") + [0x29, 0x7D, 0x92]
    s += [0x74, 0x2E]
    let g = try unpickle(s)
    XCTAssertEqual(
      g.items(g.root),
      [
        .opaque(module: "os", name: "system"), .opaque(module: "subprocess", name: "Popen"),
        .opaque(module: "builtins", name: "eval"),
        .opaque(module: "numpy.core.multiarray", name: "scalar"),
      ])
    XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/vcoswin-pwned-unpickler"))
  }

  func testAllowListedGlobalsWithWrongArguments() {
    func kind(_ s: [UInt8]) -> (String, String)? {
      guard
        case .badArguments(let g, let r, _)? = torchError({ try unpickle(proto + s + [0x2E]) })?
          .kind
      else { return nil }
      return (g, r)
    }
    let rebuild = global("torch._utils", "_rebuild_tensor_v2")
    // size is not a tuple.
    XCTAssertEqual(
      kind(
        rebuild + [0x28] + storage(numel: 4) + [0x4B, 0, 0x4B, 4, 0x4B, 1, 0x89, 0x4E, 0x74, 0x52])?
        .0, "torch._utils._rebuild_tensor_v2")
    // the view reaches past the storage: 4 elements from offset 1 of a 4-element storage.
    let past = kind(
      rebuild + [0x28] + storage(numel: 4) + [
        0x4B, 1, 0x4B, 4, 0x85, 0x4B, 1, 0x85, 0x89, 0x4E, 0x74, 0x52,
      ])
    XCTAssertEqual(past?.1, "size [4], stride [1] and offset 1 reach element 4 of a storage of 4")
    // arguments that are not a tuple.
    XCTAssertEqual(kind(rebuild + [0x4E, 0x52])?.0, "torch._utils._rebuild_tensor_v2")
    // a parameter of something that is not a tensor.
    XCTAssertEqual(
      kind(global("torch._utils", "_rebuild_parameter") + [0x4E, 0x88, 0x4E, 0x87, 0x52])?.0,
      "torch._utils._rebuild_parameter")
    XCTAssertEqual(
      kind(global("collections", "OrderedDict") + [0x4B, 1, 0x85, 0x52])?.0,
      "collections.OrderedDict")
    XCTAssertEqual(kind(global("torch", "FloatStorage") + [0x29, 0x52])?.0, "torch.FloatStorage")
    // A storage type no dtype matches.
    guard
      case .badPersistentID? = torchError({
        try unpickle(self.proto + self.storage(numel: 1, type: "ComplexFloatStorage") + [0x2E])
      })?.kind
    else { return XCTFail("expected badPersistentID") }
    // REDUCE on a value that is not callable.
    guard
      case .invalidPickle? = torchError({ try unpickle(self.proto + [0x4B, 1, 0x29, 0x52, 0x2E]) })?
        .kind
    else { return XCTFail() }
  }

  func testRebuildTensorV2WithMetadataAndParameterWithState() throws {
    let rebuild = global("torch._utils", "_rebuild_tensor_v2")
    let tensor =
      rebuild + [0x28] + storage(numel: 6) + [
        0x4B, 0, 0x4B, 2, 0x4B, 3, 0x86, 0x4B, 1, 0x4B, 2, 0x86, 0x89, 0x4E, 0x7D, 0x74, 0x52,
      ]
    let s =
      proto + global("torch._utils", "_rebuild_parameter_with_state") + [0x28] + tensor + [
        0x88, 0x4E, 0x7D, 0x74, 0x52, 0x2E,
      ]
    let g = try unpickle(s)
    guard case .tensor(let t) = g.root else { return XCTFail(g.summary(g.root)) }
    XCTAssertEqual(t.shape, [2, 3])
    XCTAssertEqual(t.stride, [1, 2])
    XCTAssertEqual(t.dtype, .f32)
    XCTAssertFalse(t.isContiguous)
    XCTAssertEqual(try unpickle(proto + global("torch", "bfloat16") + [0x2E]).root, .dtype(.bf16))
  }
}
