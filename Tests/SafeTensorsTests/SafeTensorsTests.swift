import Foundation
import XCTest
import _TestSupport

@testable import SafeTensors

final class SafeTensorsTests: TemporaryFolderTestCase {
  /// The test file the Python check script also verifies.
  func sampleWriter() throws -> SafeTensorsWriter {
    var w = SafeTensorsWriter(metadata: ["origin": "swift-test", "unicode": "é ✓ \"q\"\n"])
    try w.add("a", shape: [2, 3], floats: (0..<6).map { Float($0) * 0.5 - 1 })
    try w.add("b", shape: [4], int64s: [-1, 0, 1, 1 << 40])
    try w.add("scalar", shape: [], floats: [3.25])
    try w.add("empty", shape: [0, 3], floats: [])
    return w
  }

  func testRoundTrip() throws {
    let path = self.path("rt.safetensors")
    try sampleWriter().write(to: path)
    let f = try SafeTensorsFile.read(path: path)
    XCTAssertEqual(f.keys, ["a", "b", "empty", "scalar"])
    XCTAssertEqual(f.metadata, ["origin": "swift-test", "unicode": "é ✓ \"q\"\n"])
    let a = try f.floats("a")
    XCTAssertEqual(a.shape, [2, 3])
    XCTAssertEqual(a.values, [-1, -0.5, 0, 0.5, 1, 1.5])
    XCTAssertEqual(try f.int64s("b").values, [-1, 0, 1, 1 << 40])
    XCTAssertEqual(try f.entry("b").dtype, .i64)
    XCTAssertEqual(try f.floats("scalar").shape, [])
    XCTAssertEqual(try f.floats("scalar").values, [3.25])
    XCTAssertEqual(try f.floats("empty").shape, [0, 3])
    // Header padded to a multiple of 8 with spaces; the data starts right after.
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    let n = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    XCTAssertEqual(n % 8, 0)
    XCTAssertEqual(bytes.count, 8 + n + 6 * 4 + 4 * 8 + 4)
    // No temporary file left behind.
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path), ["rt.safetensors"])
  }

  func testOverwriteReplacesAtomically() throws {
    let path = self.path("x.safetensors")
    try sampleWriter().write(to: path)
    var w = SafeTensorsWriter()
    try w.add("only", shape: [1], floats: [7])
    try w.write(to: path)
    XCTAssertEqual(try SafeTensorsFile.read(path: path).keys, ["only"])
    // A write into a missing folder fails and leaves nothing.
    XCTAssertThrowsError(try w.write(to: self.path("nope/y.safetensors"))) { error in
      guard case .writeFailed = (error as? SafeTensorsError)?.kind else {
        return XCTFail("\(error)")
      }
      XCTAssertTrue("\(error)".contains("nope/y.safetensors"))
    }
  }

  func testWriterRejectsBadInput() throws {
    var w = SafeTensorsWriter()
    try w.add("a", shape: [2], floats: [1, 2])
    XCTAssertThrowsError(try w.add("a", shape: [1], floats: [1]))
    XCTAssertThrowsError(try w.add("__metadata__", shape: [1], floats: [1]))
    XCTAssertThrowsError(try w.add("c", shape: [2, 2], floats: [1, 2, 3])) { error in
      XCTAssertTrue("\(error)".contains("'c'") && "\(error)".contains("[2, 2]"))
    }
  }

  func testReadsPythonFixture() throws {
    guard let url = Bundle.module.url(forResource: "Fixtures/python", withExtension: "safetensors")
    else { return XCTFail("fixture missing") }
    let f = try SafeTensorsFile.read(path: url.path)
    XCTAssertEqual(f.metadata["origin"], "python")
    XCTAssertEqual(f.metadata["note"], "é ✓ \"quoted\"")
    XCTAssertEqual(try f.floats("f32").values, (0..<6).map { Float($0) * 0.25 - 0.5 })
    XCTAssertEqual(try f.floats("f32").shape, [2, 3])
    XCTAssertEqual(try f.floats("scalar").values, [3.5])
    let halfs = (0..<8).map { Float($0) * 0.5 - 1 }
    XCTAssertEqual(try f.entry("f16").dtype, .f16)
    XCTAssertEqual(try f.floats("f16").values, halfs)
    XCTAssertEqual(try f.floats("f16").shape, [2, 4])
    XCTAssertEqual(try f.entry("bf16").dtype, .bf16)
    XCTAssertEqual(try f.floats("bf16").values, halfs)
    XCTAssertEqual(try f.floats("bf16").shape, [4, 2])
    XCTAssertEqual(try f.floats("f64").values, (0..<5).map { Float($0) * 0.5 - 1 })
    XCTAssertEqual(try f.int64s("i64").values, [-3, 0, 7, 1 << 40])
    XCTAssertEqual(try f.floats("i64").values, [-3, 0, 7, Float(1 << 40)])
    XCTAssertEqual(try f.int64s("i32").values, [-2, 5, 9, -11])
    XCTAssertEqual(try f.floats("i32").shape, [2, 2])
    XCTAssertEqual(try f.floats("empty").shape, [0, 4])
    XCTAssertThrowsError(try f.int64s("f32")) { error in
      XCTAssertTrue("\(error)".contains("'f32'"))
    }
    XCTAssertThrowsError(try f.floats("nope")) { error in
      XCTAssertEqual((error as? SafeTensorsError)?.kind, .missingKey(key: "nope"))
    }
  }

  func testHalfConversion() {
    XCTAssertEqual(halfToFloat(0x3C00), 1)
    XCTAssertEqual(halfToFloat(0xC000), -2)
    XCTAssertEqual(halfToFloat(0x0001), Float(sign: .plus, exponent: -24, significand: 1))
    XCTAssertEqual(halfToFloat(0x8000).sign, .minus)
    XCTAssertEqual(halfToFloat(0x7C00), .infinity)
    XCTAssertTrue(halfToFloat(0x7E00).isNaN)
    XCTAssertEqual(halfToFloat(0x7BFF), 65504)
  }

  /// Writes the sample file where the Python check script expects it (only when asked).
  func testWritesFileForPythonCheck() throws {
    guard let path = ProcessInfo.processInfo.environment["VCOSWIN_SAFETENSORS_EXPORT"] else {
      return
    }
    try sampleWriter().write(to: path)
  }

  // MARK: corrupt files

  /// A file made of a raw header string and `dataSize` data bytes.
  func file(header: String, dataSize: Int, headerLength: UInt64? = nil) throws -> String {
    var bytes = Data()
    var n = (headerLength ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &n) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: Array(header.utf8))
    bytes.append(contentsOf: [UInt8](repeating: 0, count: dataSize))
    let path = self.path("corrupt-\(UUID().uuidString).safetensors")
    try bytes.write(to: URL(fileURLWithPath: path))
    return path
  }

  func assertKind(
    _ path: String, _ expected: SafeTensorsError.Kind, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertThrowsError(try SafeTensorsFile.read(path: path), file: file, line: line) { error in
      guard let e = error as? SafeTensorsError else {
        return XCTFail("\(error)", file: file, line: line)
      }
      XCTAssertEqual(e.kind, expected, file: file, line: line)
      XCTAssertTrue(e.description.hasPrefix(path), e.description, file: file, line: line)
    }
  }

  func entry(_ name: String, _ dtype: String, _ shape: [Int], _ b: Int, _ e: Int) -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(b),\(e)]}"
  }

  func testCorruptFiles() throws {
    assertKind(path("absent.safetensors"), .missingFile)
    assertKind(folder.path, .unreadable(reason: "it is a folder"))

    let short = path("short.safetensors")
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: short))
    assertKind(short, .truncated(fileSize: 3))

    assertKind(
      try file(header: "{}", dataSize: 0, headerLength: 100),
      .headerBeyondFile(headerLength: 100, fileSize: 10))
    assertKind(
      try file(header: "{\"a\":", dataSize: 0),
      .invalidJSON(reason: "the header does not parse as JSON"))
    assertKind(
      try file(header: "[1,2]", dataSize: 0),
      .invalidJSON(reason: "the header is not a JSON object"))
    assertKind(
      try file(header: "{\"__metadata__\":{\"k\":1}}", dataSize: 0),
      .invalidJSON(reason: "__metadata__ value for 'k' is not a string"))
    assertKind(
      try file(header: "{\(entry("x", "Q8", [2], 0, 2))}", dataSize: 2),
      .unknownDType(key: "x", dtype: "Q8"))
    assertKind(
      try file(header: "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", dataSize: 4),
      .invalidEntry(key: "x", reason: "data_offsets is not [begin, end] with begin ≤ end"))
    assertKind(
      try file(
        header: "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", dataSize: 4),
      .invalidEntry(key: "x", reason: "shape is not a list of non-negative integers"))
    assertKind(
      try file(header: "{\(entry("x", "F32", [2, 3], 0, 20))}", dataSize: 20),
      .sizeMismatch(key: "x", shape: [2, 3], dtype: "F32", expectedBytes: 24, actualBytes: 20))
    assertKind(
      try file(
        header: "{\(entry("x", "F32", [2], 0, 8)),\(entry("y", "F32", [2], 4, 12))}", dataSize: 12),
      .overlappingOffsets(key: "y", other: "x"))
    assertKind(
      try file(
        header: "{\(entry("x", "F32", [2], 0, 8)),\(entry("y", "F32", [1], 12, 16))}", dataSize: 16),
      .gapInOffsets(key: "y", expectedBegin: 8, begin: 12))
    assertKind(
      try file(header: "{\(entry("x", "F32", [1], 4, 8))}", dataSize: 8),
      .gapInOffsets(key: "x", expectedBegin: 0, begin: 4))
    assertKind(
      try file(header: "{\(entry("x", "F32", [4], 0, 16))}", dataSize: 8),
      .offsetsBeyondData(key: "x", end: 16, dataSize: 8))
    assertKind(
      try file(header: "{\(entry("x", "F32", [1], 0, 4))}", dataSize: 8),
      .trailingData(covered: 4, dataSize: 8))
    // A byte-truncated copy of a valid file: the last entry now ends past the data.
    let good = path("good.safetensors")
    try sampleWriter().write(to: good)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
    let cut = path("cut.safetensors")
    try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: cut))
    XCTAssertThrowsError(try SafeTensorsFile.read(path: cut)) { error in
      guard case .offsetsBeyondData(let key, _, _) = (error as? SafeTensorsError)?.kind else {
        return XCTFail("\(error)")
      }
      XCTAssertEqual(key, "scalar")
      XCTAssertTrue("\(error)".contains("cut.safetensors") && "\(error)".contains("'scalar'"))
    }
  }
}
