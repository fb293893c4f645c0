import Foundation
import SafeTensors
import XCTest
import _TestSupport

@testable import Inflation

/// Errors of `inflate` name the source file and its own key, and stay one short line.
final class InflateErrorTests: TemporaryFolderTestCase {
  var dir: URL { folder }

  /// A NaN in a torchvision source is reported under the source file and its 2D key, not
  /// under the output file and the 3D key.
  func testNonFiniteSourceTensorNamesTheSource() throws {
    let fixture = try TestFixture.path(
      "swin2d_source.safetensors", in: .module, writtenBy: "Tools/make_inflation_fixtures.py")
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
