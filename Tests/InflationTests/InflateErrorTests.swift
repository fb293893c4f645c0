import Foundation
import SafeTensors
import XCTest

@testable import Inflation

/// Errors of `inflate` name the source file and its own key, and stay one short line.
final class InflateErrorTests: XCTestCase {
  var dir: URL!

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "inflate-errors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

  /// A NaN in a torchvision source is reported under the source file and its 2D key, not
  /// under the output file and the 3D key.
  func testNonFiniteSourceTensorNamesTheSource() throws {
    let fixture = try XCTUnwrap(
      Bundle.module.url(forResource: "Fixtures/swin2d_source", withExtension: "safetensors")
    ).path
    let file = try SafeTensorsFile.read(path: fixture)
    var writer = SafeTensorsWriter(metadata: file.metadata)
    let key = "features.0.0.weight"
    XCTAssertTrue(file.keys.contains(key))
    for k in file.keys {
      if k.hasSuffix("relative_position_index") {
        let (shape, values) = try file.int64s(k)
        try writer.add(k, shape: shape, int64s: values)
        continue
      }
      var (shape, values) = try file.floats(k)
      if k == key { values[5] = .nan }
      try writer.add(k, shape: shape, floats: values)
    }
    let source = dir.appendingPathComponent("nan-source.safetensors").path
    let target = dir.appendingPathComponent("video.safetensors").path
    try writer.write(to: source)
    XCTAssertThrowsError(try Inflate.run(from: source, to: target, options: InflationOptions())) {
      error in
      let text = "\(error)"
      XCTAssertTrue(text.hasPrefix("\(source): tensor '\(key)' holds a NaN"), text)
      XCTAssertFalse(text.contains("video.safetensors"), text)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: target))
  }

  /// Lists and reasons in error text are cut to a readable length.
  func testErrorsStayShort() {
    let shape = [Int](repeating: 1, count: 200_000)
    XCTAssertEqual(brief(shape), "[1, 1, 1, 1, 1, 1, …] (200000 entries)")
    XCTAssertEqual(brief([2, 3]), "[2, 3]")
    let e = InflationError(path: "a.safetensors", "tensor 'x' has shape \(shape)")
    XCTAssertLessThan(e.description.count, 500)
    XCTAssertTrue(e.description.hasPrefix("a.safetensors: tensor 'x' has shape [1, 1"))
  }
}
